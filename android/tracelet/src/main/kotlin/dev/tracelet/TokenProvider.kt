package dev.tracelet

/**
 * Hands the SDK a new bearer token when the server answers 401 (the token expired or was
 * revoked). Set it with `setTokenProvider`.
 *
 * [freshToken] runs on the SDK's upload thread, never the main thread, so it may block briefly
 * (for example on a refresh request to your backend). It is called at most once per upload
 * round: if the new token is refused too, the upload fails and is retried later with backoff.
 * Return `null` when there is no token to offer; an exception counts as `null`.
 */
fun interface TokenProvider {
    fun freshToken(): String?
}
