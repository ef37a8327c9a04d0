package dev.tracelet

import java.io.File
import java.util.UUID
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.TestInstance

/**
 * One real collector process per test class, and a fresh storage directory and device id per
 * test, so that tests never see each other's fixes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CollectorTestBase(private val storagePrefix: String, private val devicePrefix: String) {
    protected lateinit var collector: CollectorProcess
    protected lateinit var storage: File
    protected lateinit var deviceId: String

    @BeforeAll
    fun startCollector() {
        collector = CollectorProcess.start()
    }

    @AfterAll
    fun stopCollector() {
        collector.close()
    }

    @BeforeEach
    fun freshDevice() {
        storage = tempStorageDir(storagePrefix)
        deviceId = devicePrefix + UUID.randomUUID().toString().take(8)
    }

    @AfterEach
    fun cleanUp() {
        storage.deleteTree()
    }
}
