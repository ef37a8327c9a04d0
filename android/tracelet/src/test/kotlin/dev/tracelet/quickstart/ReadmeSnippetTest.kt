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
    fun `both READMEs show the compiled quick start`() {
        val source = File(root, "tracelet/src/test/kotlin/dev/tracelet/quickstart/QuickStartSnippet.kt").readText()
        val code = between(source, "// quickstart:begin\n", "// quickstart:end").trimEnd()
        // android/README.md and the repository's front page.
        for (readmeFile in listOf(File(root, "README.md"), File(root, "../README.md"))) {
            val readme = readmeFile.readText()
            val block = between(readme, "<!-- quickstart:begin -->", "<!-- quickstart:end -->").trim()
            assertTrue(block.startsWith("```kotlin\n") && block.endsWith("\n```"), "$readmeFile: one kotlin code block")
            assertEquals(code, block.removePrefix("```kotlin\n").removeSuffix("\n```").trimEnd(), "$readmeFile")
        }
    }

    @Test
    fun `the Android README shows the compiled geofences, trips and metadata example`() {
        val source = File(root, "tracelet/src/test/kotlin/dev/tracelet/quickstart/PlacesSnippet.kt").readText()
        val code = between(source, "// places:begin\n", "// places:end").trimEnd()
        val readme = File(root, "README.md").readText()
        val block = between(readme, "<!-- places:begin -->", "<!-- places:end -->").trim()
        assertTrue(block.startsWith("```kotlin\n") && block.endsWith("\n```"), "one kotlin code block")
        assertEquals(code, block.removePrefix("```kotlin\n").removeSuffix("\n```").trimEnd())
    }
}
