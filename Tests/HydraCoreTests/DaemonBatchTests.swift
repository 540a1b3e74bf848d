import Foundation
import Synchronization
import Testing
@testable import HydraCore

/// The daemon's model worker, driven directly: requests decoded together,
/// cancellation between two steps.
@Suite("Daemon batching", .serialized, .tags(.model), .modelsWanted)
struct DaemonBatchTests {
    @Test("a cancelled or vanished client's request stops before the next step; the others get the in-process answer")
    func cancelWithinAStep() throws {
        let text = "The history of this city is long and full of remarkable events."
        let gguf = try TestModels.gguf("smollm2-135m")
        let lm = try HydraModel(file: gguf, contextLength: 4096, batchSize: 512, pool: ThreadPool(threads: 2))
        let translator = try Translator(model: lm)
        let (en, ru) = (try Language.named("en"), try Language.named("ru"))
        // In process: the whole translation, and the tokens it takes until
        // its first visible piece (where a reader that stops there stops it).
        var whole = ""
        let full = try translator.translate(text, from: en, to: ru) { whole += $0; return true }
        let untilFirst = try translator.translate(text, from: en, to: ru) { _ in false }
        #expect(untilFirst.generatedTokens < full.generatedTokens)

        let worker = ModelWorker(modelPath: TestModels.path("smollm2-135m"), threads: 2, idleUnloadSeconds: 2,
                                 limits: DaemonLimits(), exactBatches: true)
        let finished = DispatchGroup()
        let results = Mutex<[ClientID: Result<TranslateResult, RPCError>]>([:])
        let pieces = Mutex<[ClientID: Int]>([:])
        // Client 1 cancels its request by id at its first piece, client 3
        // goes away then; client 2 reads its translation to the end.
        for client in 1...3 {
            finished.enter()
            let id = RPCID.number(client)
            let job = TranslationJob(id: id, client: client, source: en, target: ru, text: text, stream: true,
                                     nativeHead: true,
                                     partial: { _ in
                                         pieces.withLock { $0[client, default: 0] += 1 }
                                         if client == 1 { _ = worker.cancel(client: client, id: id) }
                                         if client == 3 { worker.cancelAll(client: client) }
                                     },
                                     finish: { result in
                                         results.withLock { $0[client] = result }
                                         finished.leave()
                                     })
            try worker.submit(job)
        }
        #expect(finished.wait(timeout: .now() + 120) == .success)
        let r = results.withLock { $0 }
        #expect((try? r[2]?.get().text) == whole)
        for client in [1, 3] {
            guard case .failure(let e) = r[client] else {
                Issue.record("client \(client) was not cancelled")
                continue
            }
            #expect(e.code == RPCError.cancelled)
            #expect(pieces.withLock { $0[client] } == 1, "nothing more was sent after the cancellation")
        }
        // The turn's bookkeeping clears a moment after the last reply.
        var s = worker.snapshot()
        for _ in 0..<100 where s.running + s.queued > 0 {
            usleep(10_000)
            s = worker.snapshot()
        }
        #expect(s.cancelled == 2 && s.translations == 1)
        // No step ran for a cancelled request after its first piece.
        #expect(s.generatedTokens == full.generatedTokens + 2 * untilFirst.generatedTokens)
        #expect(s.running == 0 && s.queued == 0)
    }
}
