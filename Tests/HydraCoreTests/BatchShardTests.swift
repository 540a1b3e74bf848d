import Foundation
import Testing
@testable import HydraCore

/// `--shard K/N` and `hydra batch-merge`: the shards of a batch cover it
/// once, and a merge refuses outputs that miss, repeat or add an id.
@Suite("Batch shards")
struct BatchShardTests {
    static func items(_ n: Int) -> [BatchItem] {
        (0..<n).map { BatchItem(id: BatchID(json: "\($0)"), text: "text \($0)") }
    }

    static func line(_ id: String, _ translation: String = "t") -> String {
        "{\"id\":\(id),\"translation\":\"\(translation)\"}\n"
    }

    @Test("shards cover the input once, in input order, within one text of each other")
    func cover() throws {
        for total in [0, 1, 5, 40, 41] {
            for n in 1...6 {
                let shards = try (0..<n).map { try BatchShard(index: $0, count: n).select(Self.items(total)) }
                let ids = shards.flatMap { $0.map(\.id.json) }
                #expect(ids.sorted() == (0..<total).map { "\($0)" }.sorted())
                #expect(Set(ids).count == total)
                let sizes = shards.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1)
                for shard in shards {
                    let positions = shard.map { Int($0.id.json)! }
                    #expect(positions == positions.sorted())
                }
            }
        }
        #expect(try BatchShard(parsing: "1/3").select(Self.items(7)).map(\.id.json) == ["1", "4"])
    }

    @Test("K/N is read strictly", arguments: ["", "1", "2/2", "-1/2", "0/0", "a/2", "1/2/3", "0/-1", " 0/2"])
    func badShard(_ text: String) {
        #expect(throws: HydraError.self) { try BatchShard(parsing: text) }
    }

    @Test("a merge puts the parts together in input order")
    func merge() throws {
        let items = Self.items(5)
        let a = Self.line("4") + Self.line("0", "zero") + Self.line("2")
        let b = Self.line("3") + "{\"id\":1,\"error\":\"too long\"}\n"
        let s = try BatchMerge.merge(input: items, parts: [("a", Data(a.utf8)), ("b", Data(b.utf8))])
        #expect(s.text == Self.line("0", "zero") + "{\"id\":1,\"error\":\"too long\"}\n" + Self.line("2")
                + Self.line("3") + Self.line("4"))
        #expect(s.translated == 4 && s.failed == 1)
    }

    static func mergeError(_ parts: [String], items: Int = 3) -> String {
        do {
            _ = try BatchMerge.merge(input: Self.items(items),
                                     parts: parts.enumerated().map { ("part\($0)", Data($1.utf8)) })
            return "merged"
        } catch {
            return "\(error)"
        }
    }

    @Test("a merge fails on a missing, repeated, unknown or unfinished line")
    func mergeFailures() {
        let ok = Self.line("0") + Self.line("1") + Self.line("2")
        #expect(Self.mergeError([ok]) == "merged")
        #expect(Self.mergeError([Self.line("0"), Self.line("2")]).contains("1 of 3 input ids are in no part: 1"))
        #expect(Self.mergeError([ok, Self.line("1")]).contains("part1:1: the id 1 is already at part0:2"))
        #expect(Self.mergeError([ok + ok]).contains("part0:4: the id 0 is already at part0:1"))
        #expect(Self.mergeError([ok + Self.line("\"x\"")]).contains("part0:4: the id \"x\" is not in the input"))
        // A string id is not the integer id with the same digits.
        #expect(Self.mergeError([Self.line("\"0\"") + Self.line("1") + Self.line("2")]).contains("not in the input"))
        #expect(Self.mergeError([ok + "{\"id\":1,\"transl"]).contains("part0: the last line is unfinished"))
        #expect(Self.mergeError([Self.line("0") + "{\"id\":1}\n" + Self.line("2")]).contains("part0:2: not an output line"))
        #expect(Self.mergeError([]).contains("3 of 3 input ids are in no part"))
    }
}
