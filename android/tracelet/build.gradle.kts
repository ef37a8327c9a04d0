// The Tracelet Android library (AAR). Framework APIs only: no AndroidX, no Play Services, so
// the SDK forces neither on the apps that use it.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

group = "dev.tracelet"
version = providers.gradleProperty("tracelet.version").getOrElse("0.1.0-SNAPSHOT")

android {
    namespace = "dev.tracelet"
    compileSdk = 35

    defaultConfig {
        // 26: LocationManager + foreground services + JobScheduler as used here; JNA's AAR
        // supports it. API 31+ code paths (fused provider, LocationRequest) are guarded at runtime.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            // The ABIs the release workflow builds with cargo-ndk.
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    sourceSets["main"].apply {
        // libtracelet_ffi.so per ABI, written by:
        //   cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 \
        //     -o android/tracelet/src/main/jniLibs build --release -p tracelet-ffi
        jniLibs.srcDirs("src/main/jniLibs")
    }

    buildTypes {
        release {
            // A library is minified by the app; consumer-rules.pro travels inside the AAR.
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
    compilerOptions {
        // Same bar as the Maven build that CI runs.
        allWarningsAsErrors.set(true)
    }
}

// Optional: -Ptracelet.buildRust=true rebuilds the native libraries before every build.
// Requires the NDK (ANDROID_NDK_HOME) and `cargo install cargo-ndk` plus the Rust targets
// aarch64-linux-android, armv7-linux-androideabi and x86_64-linux-android.
val cargoNdk by tasks.registering(Exec::class) {
    group = "build"
    description = "Builds libtracelet_ffi.so for every ABI with cargo-ndk."
    workingDir = rootDir.resolve("..")
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", "android/tracelet/src/main/jniLibs",
        "build", "--release", "-p", "tracelet-ffi",
    )
}
if (providers.gradleProperty("tracelet.buildRust").orNull == "true") {
    tasks.named("preBuild") { dependsOn(cargoNdk) }
}

dependencies {
    // uniffi's Kotlin bindings call the Rust library through JNA; the AAR carries JNA's own
    // libjnidispatch.so for every Android ABI (the plain jar does not).
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "tracelet-android"
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("Tracelet for Android")
                description.set("Frugal, trustworthy location tracking: Rust core, Kotlin API.")
                url.set("https://github.com/tracelet/tracelet")
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                }
            }
        }
    }
    repositories {
        // ./gradlew :tracelet:publishReleasePublicationToLocalRepository
        maven {
            name = "local"
            url = uri(rootDir.resolve("build/repo"))
        }
    }
}
