import Foundation

extension HeadEvaluation {
    /// Decode speed through `target`: after `prompt` (tokens of `source`),
    /// `tokens` tokens are generated greedily; the clock starts at the first
    /// generated token, so prompt processing is not counted.
    /// Returns tokens per second over the tokens after the first.
    public static func decodeTokensPerSecond(_ model: HydraModel, prompt: [HeadToken], target: Head,
                                             tokens: Int = 64) throws -> Double {
        var start: UInt64 = 0
        var made = 0
        try model.decode(prompt: prompt, target: target, maxTokens: tokens) { _ in
            made += 1
            if made == 1 { start = DispatchTime.now().uptimeNanoseconds }
            return true
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return made > 1 && seconds > 0 ? Double(made - 1) / seconds : 0
    }
}
