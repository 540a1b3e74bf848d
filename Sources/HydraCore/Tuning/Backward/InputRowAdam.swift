import Foundation

/// What a tuning run through the body reports (`TokenDistillation`, `JointTuning`).
public enum ThroughBodyEvent: Sendable {
    /// The chunks are ready: training and validation chunks, positions the loss reads.
    case corpus(train: Int, validation: Int, positions: Int)
    case resumed(step: Int)
    /// One optimizer step: step of total, its loss and the head tokens it read.
    case step(step: Int, total: Int, loss: Double, tokens: Int)
    case validation(step: Int, loss: Double)
}

/// What a tuning run through the body ends with.
public struct ThroughBodyResult: Sendable {
    public var steps = 0
    /// The validation loss before the first step and after the last (NaN: none measured).
    public var validationBefore = Double.nan
    public var validationAfter = Double.nan
    /// Stopped early (`stopAfter`), its checkpoint kept and no head written.
    public var stopped = false
}

/// A head's input rows being tuned through the body, with Adam's moments:
/// only the rows of tokens a step read move, each with its own bias
/// correction (a row moves only on steps that read its token).
struct InputRowAdam {
    var rows: [Float]
    var m: [Float], v: [Float]
    var updates: [Int32]
    var step = 0
    let width: Int

    init(head: Head, width: Int) {
        rows = HeadTuning.rows(of: head.embedding)
        m = [Float](repeating: 0, count: rows.count)
        v = [Float](repeating: 0, count: rows.count)
        updates = [Int32](repeating: 0, count: head.embedding.rowCount)
        self.width = width
    }

    /// The rows of `tokens` (Llama and Qwen2 take them unscaled; FloatBlocks refuses the others).
    func inputs(_ tokens: [Int32]) -> [Float] {
        var x = [Float](repeating: 0, count: tokens.count * width)
        for (t, id) in tokens.enumerated() {
            for i in 0..<width { x[t * width + i] = rows[Int(id) * width + i] }
        }
        return x
    }

    /// The input rows of a sequence whose tokens come from several heads:
    /// `tuned`'s from the rows being tuned, every other head's its own.
    func inputs(_ tokens: [HeadToken], tuned: Head) -> [Float] {
        var x = [Float](repeating: 0, count: tokens.count * width)
        x.withUnsafeMutableBufferPointer { b in
            for (t, token) in tokens.enumerated() {
                let row = b.baseAddress! + t * width
                if token.head === tuned {
                    for i in 0..<width { row[i] = rows[Int(token.token) * width + i] }
                } else {
                    token.head.embedding.row(Int(token.token), into: row)
                }
            }
        }
        return x
    }

    /// `accumulate` for the tokens of `tuned` in a sequence of several heads' tokens.
    func accumulate(_ dx: [Float], tokens: [HeadToken], tuned: Head, into gradients: inout [Int32: [Float]]) {
        for (t, token) in tokens.enumerated() where token.head === tuned {
            var g = gradients[token.token] ?? [Float](repeating: 0, count: width)
            for i in 0..<width { g[i] += dx[t * width + i] }
            gradients[token.token] = g
        }
    }

    /// Adds to `gradients` the gradient of each token's row from the
    /// gradient of the pass's inputs (count × width): the sum over the
    /// positions of the token.
    func accumulate(_ dx: [Float], tokens: [Int32], into gradients: inout [Int32: [Float]]) {
        for (t, id) in tokens.enumerated() {
            var g = gradients[id] ?? [Float](repeating: 0, count: width)
            for i in 0..<width { g[i] += dx[t * width + i] }
            gradients[id] = g
        }
    }

    mutating func adam(_ gradients: [Int32: [Float]], learningRate: Float) {
        let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
        for (id, g) in gradients.sorted(by: { $0.key < $1.key }) {
            let r = Int(id)
            updates[r] += 1
            let c1 = 1 - powf(beta1, Float(updates[r])), c2 = 1 - powf(beta2, Float(updates[r]))
            for i in 0..<width {
                let k = r * width + i
                m[k] = beta1 * m[k] + (1 - beta1) * g[i]
                v[k] = beta2 * v[k] + (1 - beta2) * g[i] * g[i]
                rows[k] -= learningRate * (m[k] / c1) / ((v[k] / c2).squareRoot() + epsilon)
            }
        }
    }

    /// The checkpoint: the step, then rows, moments and update counts as raw little-endian values.
    func save(to path: String) throws {
        var data = Data()
        withUnsafeBytes(of: Int64(step).littleEndian) { data.append(contentsOf: $0) }
        for a in [rows, m, v] { a.withUnsafeBytes { data.append(contentsOf: $0) } }
        updates.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: path + ".part"))
        guard rename(path + ".part", path) == 0 else {
            throw HydraError.invalidInput("cannot write the checkpoint \(path): \(String(cString: strerror(errno)))")
        }
    }

    mutating func restore(from path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
              data.count == 8 + 3 * rows.count * 4 + updates.count * 4 else {
            throw HydraError.invalidInput("the checkpoint \(path) is damaged: remove it to start over")
        }
        data.withUnsafeBytes { raw in
            step = Int(Int64(littleEndian: raw.loadUnaligned(as: Int64.self)))
            var offset = 8
            func read(_ a: inout [Float]) {
                a.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + $0.count])) }
                offset += a.count * 4
            }
            read(&rows); read(&m); read(&v)
            updates.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + $0.count])) }
        }
    }
}

/// Lines packed into pieces of up to `bytes` bytes, joined by new lines (a longer line is a piece of its own).
func packLines(_ lines: [String], bytes: Int) -> [String] {
    var texts: [String] = []
    var current = ""
    for line in lines where !line.isEmpty {
        if !current.isEmpty && current.utf8.count + 1 + line.utf8.count > bytes {
            texts.append(current)
            current = ""
        }
        current += current.isEmpty ? line : "\n" + line
    }
    if !current.isEmpty { texts.append(current) }
    return texts
}

/// A seeded permutation of 0..<count.
func seededOrder(_ count: Int, seed: UInt64) -> [Int] {
    var g = SeededGenerator(seed: seed)
    var order = Array(0..<count)
    order.shuffle(using: &g)
    return order
}
