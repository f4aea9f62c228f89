import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// The Cargo workspace is the repository root, one level up from android/.
val workspace: File = rootDir.parentFile
val cargoTarget: File = System.getenv("CARGO_TARGET_DIR")?.let { File(it) } ?: workspace.resolve("target")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val androidTriples = listOf("aarch64-linux-android", "armv7-linux-androideabi", "x86_64-linux-android")
val cargoProfile: String = providers.gradleProperty("gousse.cargoProfile").getOrElse("release")
val jniLibsDir: File = projectDir.resolve("src/main/jniLibs")
val uniffiOut: File = layout.buildDirectory.dir("generated/source/uniffi").get().asFile

android {
    namespace = "org.gousse.app"
    compileSdk = 36

    defaultConfig {
        applicationId = "org.gousse.app"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            abiFilters += abis
        }
    }

    buildTypes {
        release {
            // JNA and the bindings work by reflection: see proguard-rules.pro before
            // switching this on.
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildFeatures {
        buildConfig = false
        resValues = false
    }

    // The generated uniffi bindings (package org.gousse.core) beside the app's sources.
    sourceSets["main"].java.srcDir(uniffiOut)

    packaging {
        jniLibs {
            // Stored uncompressed and page-aligned in the APK, loaded in place.
            useLegacyPackaging = false
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // JNA with its Android natives (libjnidispatch.so for each ABI).
    implementation("net.java.dev.jna:jna:5.17.0@aar")
}

// libgousse_ffi.so for each ABI, into src/main/jniLibs/<abi>/. Needs cargo-ndk, the
// NDK (ANDROID_NDK_HOME, or ndk/ under ANDROID_HOME) and the rustup targets
// (scripts/build-apk.sh installs them).
val cargoNdk by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libgousse_ffi.so for ${abis.joinToString()} with cargo-ndk"
    workingDir = workspace
    val args = mutableListOf("cargo", "ndk")
    abis.forEach { args += listOf("-t", it) }
    args += listOf("--platform", "26", "-o", jniLibsDir.path, "build", "--locked", "-p", "gousse-ffi")
    if (cargoProfile == "release") args += "--release"
    commandLine(args)
    // 16 KB page alignment of the ELF segments (Android 15+ devices with 16 KB pages;
    // NDK r28+ does it by default, this makes older NDKs do it too). Per target, so
    // that build scripts and proc-macros built for the host are left alone.
    androidTriples.forEach { triple ->
        val key = "CARGO_TARGET_${triple.uppercase().replace('-', '_')}_RUSTFLAGS"
        val extra = System.getenv(key)?.let { "$it " } ?: ""
        environment(key, extra + "-C link-arg=-Wl,-z,max-page-size=16384")
    }
    // Cargo decides what to rebuild.
    outputs.upToDateWhen { false }
}

// The Kotlin bindings, generated in library mode from the host build of gousse-ffi
// with the workspace's uniffi-bindgen: the same commands as scripts/kotlin-test.sh.
// (Two cargo invocations: built together, cargo would compile the bindgen's CLI into
// the library.)
val hostFfi by tasks.registering(Exec::class) {
    group = "rust"
    workingDir = workspace
    commandLine("cargo", "build", "--locked", "-p", "gousse-ffi")
    outputs.upToDateWhen { false }
}
val hostBindgen by tasks.registering(Exec::class) {
    group = "rust"
    workingDir = workspace
    commandLine("cargo", "build", "--locked", "-p", "uniffi-bindgen")
    mustRunAfter(hostFfi)
    outputs.upToDateWhen { false }
}
val uniffiBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings of gousse-ffi (package org.gousse.core)"
    dependsOn(hostFfi, hostBindgen)
    val out = uniffiOut
    val hostLib = if (System.getProperty("os.name").startsWith("Mac")) "libgousse_ffi.dylib" else "libgousse_ffi.so"
    workingDir = workspace
    outputs.dir(out)
    doFirst { out.deleteRecursively() }
    commandLine(
        cargoTarget.resolve("debug/uniffi-bindgen").path, "generate",
        "--library", cargoTarget.resolve("debug/$hostLib").path,
        "--language", "kotlin",
        "--config", workspace.resolve("kotlin/uniffi-config.toml").path,
        "--out-dir", out.path,
        "--no-format",
    )
}

tasks.named("preBuild") {
    dependsOn(cargoNdk, uniffiBindings)
}

tasks.named<Delete>("clean") {
    delete(jniLibsDir)
}
