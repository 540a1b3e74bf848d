import Foundation

/// The final normed hidden states of a tuning corpus, one F16 row per
/// trained position, with the token each row must predict and the index of
/// its sequence. Built once by running the body over the sequences
/// (`fill`), appended to files in a work folder as it goes, so an
/// interrupted run continues where it stopped.
///
/// Files: `hidden.f16` (rows × width halves), `targets.i32`, `sequences.i32`
/// and `hidden.done` (sequences and rows complete, written after them).
public final class HiddenStateCache {
    public let folder: String
    public let width: Int
    public private(set) var rows = 0
    public private(set) var sequencesDone = 0
    /// F16 bits, rows × width.
    public private(set) var hidden: [UInt16] = []
    public private(set) var targets: [Int32] = []
    public private(set) var sequence: [Int32] = []

    private var hiddenPath: String { folder + "/hidden.f16" }
    private var targetsPath: String { folder + "/targets.i32" }
    private var sequencePath: String { folder + "/sequences.i32" }
    private var donePath: String { folder + "/hidden.done" }

    /// Opens the cache in `folder`, keeping what a previous run completed.
    public init(folder: String, width: Int) throws {
        self.folder = folder
        self.width = width
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let text = try? String(contentsOfFile: donePath, encoding: .utf8) {
            let parts = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if parts.count == 2 {
                let h: [UInt16] = try Self.read(hiddenPath, count: parts[1] * width)
                let t: [Int32] = try Self.read(targetsPath, count: parts[1])
                let s: [Int32] = try Self.read(sequencePath, count: parts[1])
                (sequencesDone, rows, hidden, targets, sequence) = (parts[0], parts[1], h, t, s)
            }
        }
        // Whatever was appended after the last completed mark is dropped.
        try Self.truncate(hiddenPath, bytes: rows * width * 2)
        try Self.truncate(targetsPath, bytes: rows * 4)
        try Self.truncate(sequencePath, bytes: rows * 4)
    }

    /// Runs the body over `sequences[sequencesDone...]` and caches the
    /// states of their trained positions. `progress(sequences done, tokens run)`.
    public func fill(_ sequences: [TuningSequence], model: HydraModel,
                     progress: (Int, Int) -> Void = { _, _ in }) throws {
        let body = model.body, state = model.state, e = width
        var embedded = [Float](), states = [Float]()
        var prefix: [HeadToken] = []
        var pendingHidden: [UInt16] = [], pendingTargets: [Int32] = [], pendingSequence: [Int32] = []
        var lastFlush = DispatchTime.now().uptimeNanoseconds
        var k = sequencesDone
        func flush() throws {
            try Self.append(pendingHidden, to: hiddenPath)
            try Self.append(pendingTargets, to: targetsPath)
            try Self.append(pendingSequence, to: sequencePath)
            hidden += pendingHidden; targets += pendingTargets; sequence += pendingSequence
            rows += pendingTargets.count
            sequencesDone = k
            pendingHidden.removeAll(keepingCapacity: true)
            pendingTargets.removeAll(keepingCapacity: true)
            pendingSequence.removeAll(keepingCapacity: true)
            try "\(sequencesDone) \(rows)\n".write(toFile: donePath, atomically: true, encoding: .utf8)
            lastFlush = DispatchTime.now().uptimeNanoseconds
        }
        while k < sequences.count {
            let s = sequences[k]
            guard s.inputs.count <= state.contextLength else {
                throw HydraError.invalidInput("a tuning sequence of \(s.inputs.count) tokens exceeds the context of \(state.contextLength)")
            }
            // A shared prefix is always run alone from an empty cache, so the
            // states after it do not depend on which sequence came before
            // (a resumed run computes exactly what an uninterrupted one did).
            var start = 0
            if s.sharedPrefix > 0 {
                let p = Array(s.inputs[..<s.sharedPrefix])
                if !Self.same(p, prefix) {
                    state.reset()
                    try run(p, start: 0, body: body, state: state, embedded: &embedded, states: &states, output: false,
                            pool: model.pool)
                    prefix = p
                }
                start = s.sharedPrefix
            } else {
                prefix = []
                state.reset()
            }
            let rest = Array(s.inputs[start...])
            try run(rest, start: start, body: body, state: state, embedded: &embedded, states: &states, output: true,
                        pool: model.pool)
            for (p, t) in zip(s.positions, s.targets) {
                let r = Int(p) - start
                precondition(r >= 0 && r < rest.count, "a trained position inside the shared prefix")
                for i in 0..<e { pendingHidden.append(HalfFloat.half(from: states[r * e + i])) }
                pendingTargets.append(t)
                pendingSequence.append(Int32(k))
            }
            k += 1
            progress(k, rest.count)
            if DispatchTime.now().uptimeNanoseconds - lastFlush > 10_000_000_000 { try flush() }
        }
        try flush()
    }

    /// Runs `inputs` at `start...`; with `output`, their final normed states land in `states`.
    private func run(_ inputs: [HeadToken], start: Int, body: Body, state: BodyState, embedded: inout [Float],
                     states: inout [Float], output: Bool, pool: ThreadPool) throws {
        let e = width
        if embedded.count < inputs.count * e { embedded = [Float](repeating: 0, count: inputs.count * e) }
        if states.count < inputs.count * e { states = [Float](repeating: 0, count: inputs.count * e) }
        try embedded.withUnsafeMutableBufferPointer { out in
            var a = 0
            while a < inputs.count {
                let head = inputs[a].head
                var b = a + 1
                while b < inputs.count && inputs[b].head === head { b += 1 }
                let ids = inputs[a..<b].map(\.token)
                try ids.withUnsafeBufferPointer {
                    try body.embed(tokens: $0, from: head.embedding, into: out.baseAddress! + a * e)
                }
                a = b
            }
        }
        try embedded.withUnsafeBufferPointer { inp in
            try states.withUnsafeMutableBufferPointer { h in
                try body.forward(embeddings: inp.baseAddress!, count: inputs.count, startPosition: start, state: state,
                                 output: output ? .all : .none, hidden: output ? h.baseAddress! : nil, pool: pool)
            }
        }
    }

    private static func same(_ a: [HeadToken], _ b: [HeadToken]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.head === $1.head && $0.token == $1.token }
    }

    static func read<T>(_ path: String, count: Int) throws -> [T] {
        guard count > 0 else { return [] }
        guard let data = FileManager.default.contents(atPath: path), data.count >= count * MemoryLayout<T>.stride else {
            throw HydraError.invalidInput("\(path) is shorter than its completion mark says: remove the work folder")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: T.self).prefix(count)) }
    }

    static func append<T>(_ values: [T], to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard !values.isEmpty else { return }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try values.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
    }

    static func truncate(_ path: String, bytes: Int) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(bytes))
    }
}
