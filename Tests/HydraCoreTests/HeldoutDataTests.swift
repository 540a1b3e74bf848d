import Foundation
import Testing

/// The held-out files stay byte for byte as they are, so that figures
/// measured on them stay comparable, and no training file under data/
/// leaks one of their pairs: no English side contains a held-out English
/// side and no line contains a held-out target (equal counts as contained).
/// `scripts/data/build-corpora.py --check` checks the same, and
/// near-duplicates (case, digits, punctuation) as well.
@Suite("Held-out data")
struct HeldoutDataTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data")

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: data.appendingPathComponent(relative)))
    }

    static func lines(_ relative: String) throws -> [ArraySlice<UInt8>] {
        try bytes(relative).split(separator: UInt8(ascii: "\n"))
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Whether any of a set of byte strings occurs in a line (Rabin–Karp
    /// over the length of the shortest one).
    struct Finder {
        let window: Int
        let power: UInt64
        var byHash: [UInt64: [[UInt8]]] = [:]

        init(_ needles: [ArraySlice<UInt8>]) {
            window = max(1, needles.map(\.count).min() ?? 1)
            power = (1..<window).reduce(1) { p, _ in p &* 257 }
            for n in needles where !n.isEmpty { byHash[Self.hash(n.prefix(window)), default: []].append(Array(n)) }
        }

        static func hash(_ s: ArraySlice<UInt8>) -> UInt64 {
            s.reduce(0) { $0 &* 257 &+ UInt64($1) }
        }

        func match(in line: ArraySlice<UInt8>) -> [UInt8]? {
            guard line.count >= window, !byHash.isEmpty else { return nil }
            var i = line.startIndex
            var h = Self.hash(line[i..<(i + window)])
            while true {
                if let candidates = byHash[h] {
                    for c in candidates where i + c.count <= line.endIndex && line[i..<(i + c.count)].elementsEqual(c) {
                        return c
                    }
                }
                if i + window >= line.endIndex { return nil }
                h = (h &- UInt64(line[i]) &* power) &* 257 &+ UInt64(line[i + window])
                i += 1
            }
        }
    }

    static func fields(_ line: ArraySlice<UInt8>) -> (english: ArraySlice<UInt8>?, target: ArraySlice<UInt8>) {
        guard let tab = line.firstIndex(of: UInt8(ascii: "\t")) else { return (nil, line) }
        return (line[..<tab], line[(tab + 1)...])
    }

    @Test("held-out files are the frozen ones")
    func frozen() throws {
        #expect(Self.fnv1a(try Self.bytes("heldout/en-tt.tsv")) == 0x3272_0953_5934_d097)
        #expect(Self.fnv1a(try Self.bytes("heldout/en-ru.tsv")) == 0xe5cf_bdc7_4acf_1962)
        #expect(try Self.lines("heldout/en-tt.tsv").count == 223)
        #expect(try Self.lines("heldout/en-ru.tsv").count == 500)
    }

    @Test("no training line has or contains a held-out English side or target")
    func disjoint() throws {
        let held = ["tt": try Self.lines("heldout/en-tt.tsv").map(Self.fields),
                    "ru": try Self.lines("heldout/en-ru.tsv").map(Self.fields)]
        let english = Finder(held.values.flatMap { $0.compactMap(\.english) })
        var checked = 0
        for language in ["tt", "ru"] {
            let targets = held[language]!.map(\.target)
            let finder = Finder(targets)
            let exact = Set(targets.map { Array($0) })
            let folder = Self.data.appendingPathComponent(language)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".tsv") || $0.hasSuffix(".txt") }.sorted()
            for name in names {
                var leaks = 0
                for line in try Self.lines("\(language)/\(name)") {
                    checked += 1
                    if name.hasSuffix("-words.txt") {          // single words: equality is enough
                        if exact.contains(Array(line)) { leaks += 1 }
                        continue
                    }
                    let (en, _) = Self.fields(line)
                    if finder.match(in: line) != nil || (en.map { english.match(in: $0) != nil } ?? false) {
                        leaks += 1
                        if leaks <= 3 { print("held-out leak in \(language)/\(name): \(String(decoding: line, as: UTF8.self))") }
                    }
                }
                #expect(leaks == 0, "\(language)/\(name): \(leaks) lines leak a held-out pair")
            }
        }
        #expect(checked > 100_000)
    }

    @Test("the finder finds what it should")
    func finder() {
        let f = Finder([Array("hidden eggs".utf8)[...], Array("Good morning.".utf8)[...]])
        #expect(f.match(in: Array("Explore tracks to find all hidden eggs.".utf8)[...]) != nil)
        #expect(f.match(in: Array("Good morning.".utf8)[...]) != nil)
        #expect(f.match(in: Array("hidden egg".utf8)[...]) == nil)
        #expect(f.match(in: Array("Good morning".utf8)[...]) == nil)
        #expect(f.match(in: Array("".utf8)[...]) == nil)
    }
}
