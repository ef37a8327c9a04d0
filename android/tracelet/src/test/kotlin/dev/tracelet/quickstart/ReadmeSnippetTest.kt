package dev.tracelet.quickstart

import java.io.File
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Keeps the README's quick start identical to the compiled [QuickStartSnippet] source. */
class ReadmeSnippetTest {

    private val root = File(System.getProperty("basedir") ?: ".")

    private fun between(text: String, begin: String, end: String): String {
        val start = text.indexOf(begin)
        val stop = text.indexOf(end)
        assertTrue(start >= 0 && stop > start, "markers $begin / $end not found in order")
        return text.substring(start + begin.length, stop)
    }

    @Test
    fun `README quick start equals the compiled snippet`() {
        val source = File(root, "tracelet/src/test/kotlin/dev/tracelet/quickstart/QuickStartSnippet.kt").readText()
        val readme = File(root, "README.md").readText()
        val code = between(source, "// quickstart:begin\n", "// quickstart:end").trimEnd()
        val block = between(readme, "<!-- quickstart:begin -->", "<!-- quickstart:end -->").trim()
        assertTrue(block.startsWith("```kotlin\n") && block.endsWith("\n```"), "quick start must be one kotlin code block")
        assertEquals(code, block.removePrefix("```kotlin\n").removeSuffix("\n```").trimEnd())
    }
}
