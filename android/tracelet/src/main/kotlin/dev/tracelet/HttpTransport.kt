package dev.tracelet

import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.SocketTimeoutException
import java.net.URL
import dev.tracelet.internal.TransportFailure

/**
 * The app's own HTTP stack, for proxies, custom CAs and certificate pinning: pass one to
 * [TraceletClient] or `Tracelet.configure` and every upload request goes through it instead of
 * the SDK's built-in HTTPS client. Called on the SDK's upload thread, one request at a time, so
 * a blocking implementation is right. It must not follow redirects (a redirected POST would
 * lose its body while the SDK deletes the batch). Throw any exception when no answer came: the
 * SDK counts it as a network failure and retries later; any HTTP status is an answer.
 */
typealias HttpTransport = dev.tracelet.internal.HttpTransport

/** One request as the SDK wants it sent: POST [HttpRequest.body] (already gzip) to the URL. */
typealias HttpRequest = dev.tracelet.internal.HttpRequest

/** The answer: status, `Retry-After` in seconds when present, and the body's first 4 KiB. */
typealias HttpResponse = dev.tracelet.internal.HttpResponse

typealias HttpHeader = dev.tracelet.internal.HttpHeader

/**
 * An [HttpTransport] over `java.net.HttpURLConnection`, which every Android version has.
 * [open] makes the connection, so that the app chooses a proxy or an `HttpsURLConnection`
 * with its own `SSLSocketFactory` (custom CA, pinning):
 *
 * ```
 * HttpUrlConnectionTransport { url ->
 *     (url.openConnection(proxy) as HttpsURLConnection).apply { sslSocketFactory = pinnedFactory }
 * }
 * ```
 */
class HttpUrlConnectionTransport(
    private val open: (URL) -> HttpURLConnection = { it.openConnection() as HttpURLConnection },
) : HttpTransport {

    override fun send(request: HttpRequest): HttpResponse {
        val connection = try {
            open(URL(request.url))
        } catch (e: IOException) {
            throw TransportFailure.Network("could not open the connection: ${e.javaClass.simpleName}")
        }
        try {
            val timeout = request.timeoutMs.coerceAtMost(Int.MAX_VALUE.toULong()).toInt()
            connection.connectTimeout = timeout
            connection.readTimeout = timeout
            connection.requestMethod = "POST"
            connection.doOutput = true
            connection.useCaches = false
            connection.instanceFollowRedirects = false
            connection.setFixedLengthStreamingMode(request.body.size)
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            connection.outputStream.use { it.write(request.body) }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            return HttpResponse(
                status = status.toUShort(),
                retryAfterS = connection.getHeaderField("Retry-After")?.trim()?.toULongOrNull(),
                body = stream?.use { it.readAtMost(MAX_BODY) } ?: ByteArray(0),
            )
        } catch (e: SocketTimeoutException) {
            throw TransportFailure.Timeout()
        } catch (e: IOException) {
            throw TransportFailure.Network(e.javaClass.simpleName)
        } finally {
            connection.disconnect()
        }
    }

    private fun InputStream.readAtMost(limit: Int): ByteArray {
        val buffer = ByteArray(limit)
        var filled = 0
        while (filled < limit) {
            val read = read(buffer, filled, limit - filled)
            if (read < 0) break
            filled += read
        }
        return buffer.copyOf(filled)
    }

    private companion object {
        /** The SDK reads only the start of an answer (the duplicate count). */
        const val MAX_BODY = 4096
    }
}
