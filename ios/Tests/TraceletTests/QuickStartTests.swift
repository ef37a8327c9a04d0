import Foundation
import XCTest

/// The README's Swift quick start is the compiled `readmeQuickStart` body, line for line.
final class QuickStartTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func between(_ text: String, _ begin: String, _ end: String) throws -> String {
        let start = try XCTUnwrap(text.range(of: begin), "marker \(begin)")
        let stop = try XCTUnwrap(text.range(of: end, range: start.upperBound..<text.endIndex), "marker \(end)")
        return String(text[start.upperBound..<stop.lowerBound])
    }

    func testTheReadmeShowsTheCompiledQuickStart() throws {
        let source = try String(
            contentsOf: root.appendingPathComponent("ios/Tests/TraceletTests/QuickStartSnippet.swift"),
            encoding: .utf8)
        let compiled = try between(source, "// quickstart:begin\n", "    // quickstart:end")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("    ") ? String($0.dropFirst(4)) : String($0) }
            .joined(separator: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try between(readme, "<!-- swift-quickstart:begin -->", "<!-- swift-quickstart:end -->")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fence = "```swift\nimport Tracelet\n\n"
        XCTAssertTrue(block.hasPrefix(fence) && block.hasSuffix("\n```"), "one swift block importing Tracelet")
        let shown = String(block.dropFirst(fence.count).dropLast(4))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(shown, compiled)
    }
}
