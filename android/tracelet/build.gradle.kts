// The Tracelet Android library (AAR). Framework APIs only: no AndroidX, no Play Services, so
// the SDK forces neither on the apps that use it.
import com.vanniktech.maven.publish.AndroidSingleVariantLibrary
import com.vanniktech.maven.publish.JavadocJar
import com.vanniktech.maven.publish.SourcesJar

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.dokka")
    id("com.vanniktech.maven.publish")
}

// Coordinates, version and POM: ../gradle.properties (GROUP, POM_ARTIFACT_ID, VERSION_NAME,
// POM_*), read by the publishing plugin. Nothing here repeats them.

android {
    namespace = "dev.tracelet"
    compileSdk = 35
    // The NDK the release workflow builds the libraries with; AGP strips and packages them.
    ndkVersion = providers.gradleProperty("tracelet.ndkVersion").get()

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
        // libtracelet_ffi.so per ABI, written by (the release workflow runs exactly this):
        //   cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -P 26 \
        //     -o android/tracelet/src/main/jniLibs build --release --locked -p tracelet-ffi
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
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64", "-P", "26",
        "-o", "android/tracelet/src/main/jniLibs",
        "build", "--release", "--locked", "-p", "tracelet-ffi",
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

// Maven Central through the Central Portal, every artifact signed (in-memory key from the
// environment: docs/releasing.md). The release variant's AAR, a sources jar and a javadoc jar
// made by Dokka; the POM comes from ../gradle.properties.
mavenPublishing {
    configure(
        AndroidSingleVariantLibrary(
            javadocJar = JavadocJar.Dokka("dokkaGeneratePublicationHtml"),
            sourcesJar = SourcesJar.Sources(),
            variant = "release",
        ),
    )
    publishToMavenCentral()
    signAllPublications()
}

// A local repository to inspect what would be published, without signing keys for a
// -SNAPSHOT version: ./gradlew :tracelet:publishAllPublicationsToLocalRepository
publishing {
    repositories {
        maven {
            name = "local"
            url = uri(rootDir.resolve("build/repo"))
        }
    }
}
