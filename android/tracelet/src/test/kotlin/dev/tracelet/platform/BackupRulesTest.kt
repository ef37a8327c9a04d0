package dev.tracelet.platform

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.w3c.dom.Element

/**
 * The library's manifest points Android's backup machinery at rules that keep the queue out of
 * every backup route. Read from the files as shipped: the manifest merger runs only in app
 * builds, which this machine cannot make. That `Tracelet.configure` puts the queue and its
 * marker in the no-backup directory is checked by the Robolectric test.
 */
class BackupRulesTest {

    private val main = File(System.getProperty("basedir") ?: ".", "tracelet/src/main")
    private val android = "http://schemas.android.com/apk/res/android"

    /** Every path the queue can occupy under a backed-up domain (see Tracelet.configure). */
    private val excluded = setOf("file:tracelet/", "database:tracelet-queue.sqlite3", "file:tracelet-queue.marker")

    private fun parse(file: File): Element {
        val factory = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        return factory.newDocumentBuilder().parse(file).documentElement
    }

    private fun rulesFile(reference: String): File {
        assertTrue(reference.startsWith("@xml/"), "a resource reference: $reference")
        return File(main, "res/xml/${reference.removePrefix("@xml/")}.xml")
    }

    private fun Element.excludes(): Set<String> {
        val nodes = getElementsByTagName("exclude")
        return (0 until nodes.length).map { i ->
            val e = nodes.item(i) as Element
            "${e.getAttribute("domain")}:${e.getAttribute("path")}"
        }.toSet()
    }

    private fun application(): Element =
        parse(File(main, "AndroidManifest.xml")).getElementsByTagName("application").item(0) as Element

    @Test
    fun `Auto Backup (Android 11 and older) excludes the queue`() {
        val rules = parse(rulesFile(application().getAttributeNS(android, "fullBackupContent")))
        assertEquals("full-backup-content", rules.tagName)
        assertEquals(excluded, rules.excludes())
    }

    @Test
    fun `cloud backup and device-to-device transfer (Android 12+) both exclude the queue`() {
        val rules = parse(rulesFile(application().getAttributeNS(android, "dataExtractionRules")))
        assertEquals("data-extraction-rules", rules.tagName)
        for (route in listOf("cloud-backup", "device-transfer")) {
            val section = rules.getElementsByTagName(route).item(0) as Element?
            assertTrue(section != null, "$route section present")
            assertEquals(excluded, section!!.excludes(), route)
        }
    }
}
