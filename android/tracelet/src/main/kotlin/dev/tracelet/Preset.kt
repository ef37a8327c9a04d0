package dev.tracelet

/**
 * How the SDK trades battery for track density; see the table in the README. A preset sets the
 * motion policy (how often GNSS samples while moving, how soon a stop turns it off) and the
 * on-device filter. Uploads still follow [TraceletConfig.maxUploadDelayMillis] and the batch sizes.
 */
enum class Preset(
    /** The name the core knows the preset by. */
    val presetName: String,
) {
    /** Sparse sampling (every 10 s, 15 m or more apart), the cheapest stationary heartbeat. */
    EFFICIENT("efficient"),

    /** The default: GNSS every 5 s (10 m or more apart) while moving, off while stationary. */
    BALANCED("balanced"),

    /** Every fix, once a second, for a live track; a tighter accuracy gate; still stops GNSS when stationary. */
    CONTINUOUS("continuous"),
    ;

    companion object {
        /**
         * The preset called [name] (`efficient`, `balanced`, `continuous`), say from remote config.
         * @throws TraceletException.InvalidConfig for any other name, as the core would.
         */
        fun fromName(name: String): Preset =
            entries.firstOrNull { it.presetName == name }
                ?: throw TraceletException.InvalidConfig("preset must be efficient, balanced or continuous")
    }
}
