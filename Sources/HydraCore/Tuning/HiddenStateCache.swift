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
        var slots: [BodyState] = []
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
            // Sequences after the same prefix (translation pairs) run side by
            // side in one pass, each in a copy of the prefix's cache; the group
            // is the longest run from k that fits one pass, so a resumed run
            // (which starts at a group's first sequence) forms the same groups.
            var group = [k]
            var rowsInGroup = s.inputs.count - start
            if start > 0 {
                while group.count < Self.groupLimit, let next = group.last.map({ $0 + 1 }), next < sequences.count,
                      sequences[next].sharedPrefix == start, Self.same(Array(sequences[next].inputs[..<start]), prefix),
                      rowsInGroup + sequences[next].inputs.count - start <= state.batchCapacity,
                      sequences[next].inputs.count <= state.contextLength {
                    rowsInGroup += sequences[next].inputs.count - start
                    group.append(next)
                }
            }
            var offsets: [Int] = []
            if group.count == 1 {
                try run(Array(s.inputs[start...]), start: start, body: body, state: state, embedded: &embedded,
                        states: &states, output: true, pool: model.pool)
                offsets = [0]
            } else {
                while slots.count < group.count {
                    slots.append(BodyState(config: body.config, contextLength: state.contextLength, batchCapacity: 1,
                                           threads: state.threads, attention: state.attentionKind))
                }
                var inputs: [HeadToken] = []
                var rows: [SequenceRows] = []
                for (i, j) in group.enumerated() {
                    try slots[i].copyCache(from: state, count: start)
                    offsets.append(inputs.count)
                    rows.append(SequenceRows(cache: slots[i].cache, position: start,
                                             rows: inputs.count..<inputs.count + sequences[j].inputs.count - start))
                    inputs += sequences[j].inputs[start...]
                }
                try run(inputs, sequences: rows, body: body, state: state, embedded: &embedded, states: &states,
                        pool: model.pool)
            }
            for (i, j) in group.enumerated() {
                for (p, t) in zip(sequences[j].positions, sequences[j].targets) {
                    let r = offsets[i] + Int(p) - start
                    precondition(Int(p) >= start && r < rowsInGroup, "a trained position inside the shared prefix")
                    for x in 0..<e { pendingHidden.append(HalfFloat.half(from: states[r * e + x])) }
                    pendingTargets.append(t)
                    pendingSequence.append(Int32(j))
                }
                k += 1
                progress(k, sequences[j].inputs.count - start)
            }
            if DispatchTime.now().uptimeNanoseconds - lastFlush > 10_000_000_000 { try flush() }
        }
        try flush()
    }

    /// Most sequences run side by side in one pass.
    static let groupLimit = 16

    /// Runs the rows of several sequences (each in its own cache, after a
    /// copied prefix) in one pass of the prompt's matrix products (the
    /// rounding of a prompt, not of one-token decoding); their final normed
    /// states land in `states`.
    private func run(_ inputs: [HeadToken], sequences: [SequenceRows], body: Body, state: BodyState,
                     embedded: inout [Float], states: inout [Float], pool: ThreadPool) throws {
        let e = width
        try embed(inputs, body: body, into: &embedded)
        if states.count < inputs.count * e { states = [Float](repeating: 0, count: inputs.count * e) }
        state.x.update(from: embedded, count: inputs.count * e)
        states.withUnsafeMutableBufferPointer { h in
            body.pass(sequences, rows: inputs.count, state: state, output: .all, hidden: h.baseAddress!, pool: pool,
                      exact: false)
        }
    }

    /// The input rows of `inputs`, each by its own head, into `embedded`.
    private func embed(_ inputs: [HeadToken], body: Body, into embedded: inout [Float]) throws {
        let e = width
        if embedded.count < inputs.count * e { embedded = [Float](repeating: 0, count: inputs.count * e) }
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
    }

    /// Runs `inputs` of one sequence at `start...`; with `output`, their
    /// final normed states land in `states`.
    private func run(_ inputs: [HeadToken], start: Int, body: Body, state: BodyState, embedded: inout [Float],
                     states: inout [Float], output: Bool, pool: ThreadPool) throws {
        let e = width
        try embed(inputs, body: body, into: &embedded)
        if states.count < inputs.count * e { states = [Float](repeating: 0, count: inputs.count * e) }
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
