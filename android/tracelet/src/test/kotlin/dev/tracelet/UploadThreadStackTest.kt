package dev.tracelet

import dev.tracelet.internal.Tracelet as FfiTracelet
import dev.tracelet.internal.core.TraceletEvent as FfiEvent
import dev.tracelet.internal.TraceletListener
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * How much stack the app's code gets when the core calls it on its upload thread (a listener,
 * here; the same thread type the JVM attaches for any callback there). Measured as the depth a
 * recursive function reaches before `StackOverflowError`, beside JVM threads of known sizes.
 */
class UploadThreadStackTest : CollectorTestBase(storagePrefix = "tracelet-stack", devicePrefix = "kt-stack-") {

    /** Recursion depth reached before the stack runs out; the locals live across the call, so
     * every frame holds them and the depth measures stack, not the JIT's cleverness. */
    private fun depth(n: Int = 0): Int {
        val a = n * 31L
        val b = a xor 0x5DEECE66DL
        val c = b * a + n
        val d = c ushr 3
        val e = d + b * 7
        val f = e xor c
        val g = f + a * d
        val h = g - e
        return try {
            val deeper = depth(n + 1)
            if (a + b + c + d + e + f + g + h == 42L) deeper + 1 else deeper
        } catch (error: StackOverflowError) {
            n
        }
    }

    private fun depthOnJvmThread(stackBytes: Long): Int {
        val result = CompletableFuture<Int>()
        Thread(null, { result.complete(depth()) }, "probe", stackBytes).start()
        return result.get(60, TimeUnit.SECONDS)
    }

    @Test
    fun `a callback on the upload thread has about the stack of a JVM thread`() = runBlocking {
        // Compiled frames are smaller than interpreted ones: compare only once `depth` is hot.
        repeat(5) { depthOnJvmThread(1024L * 1024) }
        val onUploadThread = CompletableFuture<Int>()
        val core = FfiTracelet(config(collector, deviceId).toFfi(storage.absolutePath))
        core.use {
            it.setListener(object : TraceletListener {
                override fun onEvent(event: FfiEvent) {
                    if (event is FfiEvent.UploadSucceeded) onUploadThread.complete(depth())
                }
            })
            it.start()
            walk(3).forEach { fix -> it.record(fix.toFfi()) }
            it.flush()
        }
        val upload = onUploadThread.get(60, TimeUnit.SECONDS)
        val jvm512k = depthOnJvmThread(512L * 1024)
        val jvm1m = depthOnJvmThread(1024L * 1024)
        println("stack depth reached: upload thread $upload, JVM 512 KiB $jvm512k, JVM 1 MiB $jvm1m")
        // An app's callback must not get less than the JVM's own threads give it.
        assertTrue(upload >= jvm512k * 9 / 10, "upload thread $upload, 512 KiB JVM thread $jvm512k")
    }
}
