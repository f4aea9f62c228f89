// Versions of the build plugins; the app's own build is app/build.gradle.kts.
plugins {
    id("com.android.application") version "8.13.0" apply false
    id("org.jetbrains.kotlin.android") version "2.2.21" apply false
}
