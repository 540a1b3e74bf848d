import Foundation
import Testing

extension Tag {
    /// Runs a real model (fetched by `scripts/setup.sh`): seconds to
    /// minutes each. The tests without it need no model and take seconds.
    @Tag static var model: Self
}

extension Trait where Self == ConditionTrait {
    /// Off when `HYDRA_SKIP_MODELS` is set, so that
    /// `HYDRA_SKIP_MODELS=1 swift test` runs only the tests that need no
    /// model (the command line cannot pick tests by tag).
    static var modelsWanted: Self {
        .enabled(if: ProcessInfo.processInfo.environment["HYDRA_SKIP_MODELS"] == nil,
                 "HYDRA_SKIP_MODELS is set: tests on real models are skipped")
    }
}
