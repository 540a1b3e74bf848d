import Testing
@testable import HydraCore

@Test func versionIsSemantic() {
    #expect(Hydra.version.split(separator: ".").count == 3)
}
