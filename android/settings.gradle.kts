// The Gousse Android app. Gradle 8.13 or newer (AGP 8.13); see README.md for the
// wrapper, the SDK, the NDK and cargo-ndk.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "gousse-android"
include(":app")
