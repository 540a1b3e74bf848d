import ArgumentParser
import CHydraKernels
import Foundation
import HydraCore

/// `hydra bench`: prompt and generation speed measured as llama-bench
/// measures them, or the machine's memory bandwidth (`--stream`).
///
/// pp: a prompt of p random tokens evaluated in one batch from an empty
/// cache. tg: n tokens generated one at a time from an empty cache. Each
/// test runs once untimed (warm-up), then r timed repetitions; the figure
/// is the mean of the repetitions' tokens per second, with their sample
/// standard deviation, exactly as llama-bench reports avg_ts / stddev_ts.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt (pp) and generation (tg) speed as llama-bench does, or memory bandwidth.")

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name.")
    var model: String?

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the number of CPUs).")
    var threadsOption: Int?

    private var threads: Int { threadsOption ?? ProcessInfo.processInfo.activeProcessorCount }

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens for the pp test (0 skips it).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens for the tg test (0 skips it).")
    var generatedTokens = 64

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Timed repetitions of each test.")
    var repetitions = 5

    @OptionGroup var attention: AttentionOption

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Instead of pp/tg: generation tokens/s with this many sequences decoded together (comma-separated, e.g. 1,4,16,64), each after its own -p prompt tokens, -n steps, exact and throughput mode.")
    var sequences: String?

    @Flag(help: "Measure memory bandwidth (STREAM read/copy/triad) instead of a model.")
    var stream = false

    @Option(name: .customLong("stream-mb"), help: "MiB per STREAM array (three arrays; far larger than the last-level cache).")
    var streamMB = 512

    func validate() throws {
        if let problem = ThreadPool.problem(with: threads) { throw ValidationError(problem) }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard promptTokens >= 0, generatedTokens >= 0 else { throw ValidationError("-p and -n must not be negative") }
        guard streamMB >= 1 else { throw ValidationError("--stream-mb must be at least 1") }
        if sequences != nil {
            guard let counts = sequenceCounts, !counts.isEmpty, counts.allSatisfy({ (1...512).contains($0) }) else {
                throw ValidationError("--sequences takes counts from 1 to 512, e.g. 1,4,16,64")
            }
            guard generatedTokens >= 2 else { throw ValidationError("--sequences needs -n of at least 2") }
        }
    }

    private var sequenceCounts: [Int]? {
        sequences.map { $0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    }

    func run() throws {
        if stream {
            try runStream()
        } else if let counts = sequenceCounts {
            try runSequences(counts)
        } else {
            try runModel()
        }
    }

    // MARK: memory bandwidth

    private func runStream() throws {
        var result = hydra_stream_result()
        let elements = Int64(streamMB) * 1024 * 1024 / 8
        guard hydra_stream(Int32(threads), elements, Int32(repetitions), &result) == 0 else {
            throw HydraError.invalidInput("could not allocate 3 × \(streamMB) MiB for the bandwidth arrays")
        }
        let report = StreamReport(
            threads: threads, arrayMiB: streamMB, repetitions: repetitions,
            readBytesPerS: result.read, copyBytesPerS: result.copy, triadBytesPerS: result.triad)
        if json {
            writeOut(try encodeJSON(report))
        } else {
            writeOut("memory bandwidth, \(threads) thread(s), 3 × \(streamMB) MiB arrays, best of \(repetitions):\n")
            for (name, rate) in [("read", result.read), ("copy", result.copy), ("triad", result.triad)] {
                writeOut("  \(name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(format: "%6.1f", rate / 1e9)) GB/s\n")
            }
        }
    }

    // MARK: several sequences

    private func runSequences(_ counts: [Int]) throws {
        let path = try KnownModel.resolve(model)
        let longest = counts.max()!
        // The model's own state is the batch's scratch: its rows (at most its
        // context) must hold every sequence.
        let hydra = try HydraModel(file: GGUFFile(path: path),
                                   contextLength: max(max(promptTokens, 1) + generatedTokens, longest),
                                   batchSize: max(512, longest), pool: ThreadPool(threads: threads),
                                   flashAttention: attention.enabled)
        let bench = SequencesBench(model: hydra, promptTokens: promptTokens, generatedTokens: generatedTokens)
        if !json { writeOut("sequences   exact t/s   throughput t/s   (\(threads) thread(s), -p \(promptTokens), -n \(generatedTokens))\n") }
        let rows = try bench.rows(counts) { row in
            if !json {
                writeOut(String(format: "%9d %11.2f %16.2f\n", row.sequences, row.exactTokensPerS, row.throughputTokensPerS))
            }
        }
        if json { writeOut(try encodeJSON(rows)) }
    }

    // MARK: model speed

    private func runModel() throws {
        let path = try KnownModel.resolve(model)
        let name = KnownModel.all.first { $0.path == path }?.name ?? path

        // Load time: open the GGUF and build the model until it can run.
        let loadStart = DispatchTime.now()
        let gguf = try GGUFFile(path: path)
        var target = try BenchTarget(gguf: gguf, threads: threads, contextLength: max(promptTokens + generatedTokens, 1),
                                     flashAttention: attention.enabled)
        let loadMs = milliseconds(since: loadStart)

        var report = ModelReport(
            model: name, path: path, threads: threads,
            promptTokens: promptTokens, generatedTokens: generatedTokens, repetitions: repetitions,
            loadMs: loadMs, weightBytes: weightBytesPerToken(gguf), fileTensorBytes: gguf.tensors.reduce(0) { $0 + $1.byteCount })

        var tokens = RandomTokens(vocabularySize: target.vocabularySize, bos: target.bos)
        if promptTokens > 0 {
            let s = try measure(&target) { target in
                try target.evaluate(tokens.prompt(promptTokens))
                return promptTokens
            }
            report.ppTokensPerS = s.mean
            report.ppStddev = s.stddev
        }
        if generatedTokens > 0 {
            // Warm-up as llama-bench: one generated token after the prompt warm-up.
            let s = try measure(&target, warmUp: { target in try target.evaluate([tokens.first()]) }) { target in
                var next = tokens.first()
                for _ in 0..<generatedTokens {
                    try target.evaluate([next])
                    next = tokens.next()
                }
                return generatedTokens
            }
            report.tgTokensPerS = s.mean
            report.tgStddev = s.stddev
        }
        report.peakRssMB = peakResidentMiB()

        if json {
            writeOut(try encodeJSON(report))
        } else {
            writeOut(report.table)
        }
    }

    /// Runs `test` once untimed (or `warmUp` when given), then `repetitions`
    /// times from an empty cache; returns the mean and sample standard
    /// deviation of the tokens per second of the timed runs.
    private func measure(
        _ target: inout BenchTarget,
        warmUp: ((inout BenchTarget) throws -> Void)? = nil,
        _ test: (inout BenchTarget) throws -> Int
    ) throws -> (mean: Double, stddev: Double) {
        target.clearCache()
        if let warmUp { try warmUp(&target) } else { _ = try test(&target) }
        var rates: [Double] = []
        for _ in 0..<repetitions {
            target.clearCache()
            let start = DispatchTime.now()
            let n = try test(&target)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            rates.append(Double(n) / seconds)
        }
        return meanAndStddev(rates)
    }
}

// MARK: what is timed

/// The model as the benchmark drives it: tokens evaluated at the end of a
/// KV cache that can be emptied between repetitions.
struct BenchTarget {
    let model: HydraModel
    /// Ids the prompt and generated tokens are drawn from.
    let vocabularySize: Int
    /// The BOS id when the model adds one to a prompt (llama-bench's first token).
    let bos: Int32?

    /// A model with room for `contextLength` positions, processing prompts
    /// in batches of up to 512 tokens (llama-bench's default micro-batch).
    init(gguf: GGUFFile, threads: Int, contextLength: Int, flashAttention: Bool) throws {
        model = try HydraModel(file: gguf, contextLength: contextLength, batchSize: 512,
                               pool: ThreadPool(threads: threads), flashAttention: flashAttention)
        vocabularySize = model.vocabularySize
        let addsBOS = gguf.bool("tokenizer.ggml.add_bos_token") ?? false
        bos = addsBOS ? gguf.int("tokenizer.ggml.bos_token_id").map(Int32.init) : nil
    }

    /// Empties the KV cache (the next token is at position 0).
    func clearCache() { model.state.reset() }

    /// Evaluates `tokens` after what the cache holds; logits of the last
    /// position only, as llama-bench asks for.
    func evaluate(_ tokens: [Int32]) throws {
        _ = try model.forwardLast(tokens: tokens, startPosition: model.state.length)
    }
}

/// Bytes of weights one generated token reads: every tensor, except the
/// token embedding table when the model has a separate output matrix (then
/// only one row of the table is read per token).
func weightBytesPerToken(_ gguf: GGUFFile) -> Int {
    let all = gguf.tensors.reduce(0) { $0 + $1.byteCount }
    guard gguf.tensor(named: "output.weight") != nil, let embd = gguf.tensor(named: "token_embd.weight") else { return all }
    return all - embd.byteCount + embd.byteCount / max(embd.rows, 1)
}

/// llama-bench's tokens: BOS (when the model adds one) then uniformly random
/// ids, from a fixed seed so runs are repeatable.
struct RandomTokens {
    let vocabularySize: Int
    let bos: Int32?
    private var generator = SeededGenerator(seed: 0x9E37_79B9_7F4A_7C15)

    init(vocabularySize: Int, bos: Int32?) {
        self.vocabularySize = vocabularySize
        self.bos = bos
    }

    mutating func first() -> Int32 { bos ?? next() }

    mutating func prompt(_ count: Int) -> [Int32] {
        guard count > 0 else { return [] }
        var tokens = [first()]
        while tokens.count < count { tokens.append(next()) }
        return tokens
    }

    /// The next id, reduced to the vocabulary.
    mutating func next() -> Int32 {
        Int32(generator.next() % UInt64(vocabularySize))
    }
}

// MARK: reports

/// `hydra bench --json` for a model.
struct ModelReport: Encodable {
    let model: String
    let path: String
    let threads: Int
    let promptTokens: Int
    let generatedTokens: Int
    let repetitions: Int
    let loadMs: Double
    let weightBytes: Int
    let fileTensorBytes: Int
    var ppTokensPerS: Double?
    var ppStddev: Double?
    var tgTokensPerS: Double?
    var tgStddev: Double?
    var peakRssMB: Double = 0

    enum CodingKeys: String, CodingKey {
        case model, path, threads, repetitions
        case promptTokens = "n_prompt", generatedTokens = "n_gen"
        case loadMs = "load_ms", weightBytes = "weight_bytes", fileTensorBytes = "file_tensor_bytes"
        case ppTokensPerS = "pp_tokens_per_s", ppStddev = "pp_stddev"
        case tgTokensPerS = "tg_tokens_per_s", tgStddev = "tg_stddev"
        case peakRssMB = "peak_rss_mb"
    }

    var table: String {
        func rate(_ mean: Double?, _ sd: Double?) -> String {
            guard let mean, let sd else { return "-" }
            return String(format: "%.2f ± %.2f", mean, sd)
        }
        return """
            model        \(model) (\(threads) thread(s), \(repetitions) repetitions)
            pp\(promptTokens)        \(rate(ppTokensPerS, ppStddev)) tokens/s
            tg\(generatedTokens)         \(rate(tgTokensPerS, tgStddev)) tokens/s
            load         \(String(format: "%.1f", loadMs)) ms
            peak RSS     \(String(format: "%.1f", peakRssMB)) MiB
            weights/tok  \(String(format: "%.1f", Double(weightBytes) / 1e6)) MB

            """
    }
}

/// `hydra bench --stream --json`.
struct StreamReport: Encodable {
    let threads: Int
    let arrayMiB: Int
    let repetitions: Int
    let readBytesPerS: Double
    let copyBytesPerS: Double
    let triadBytesPerS: Double

    enum CodingKeys: String, CodingKey {
        case threads, repetitions
        case arrayMiB = "array_mib"
        case readBytesPerS = "read_bytes_per_s", copyBytesPerS = "copy_bytes_per_s", triadBytesPerS = "triad_bytes_per_s"
    }
}

// MARK: helpers

private func encodeJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

private func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

/// Mean and sample standard deviation (n - 1), as llama-bench computes them.
func meanAndStddev(_ values: [Double]) -> (mean: Double, stddev: Double) {
    guard !values.isEmpty else { return (0, 0) }
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    return (mean, (squares / Double(values.count - 1)).squareRoot())
}

/// The process's peak resident set in MiB (mapped weights count once touched).
private func peakResidentMiB() -> Double {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / (1024 * 1024) // bytes on Darwin
    #else
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024 // KiB on Linux
    #endif
}
