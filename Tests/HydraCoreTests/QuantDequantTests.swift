import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// Dequantization of the real models against llama.cpp's values.
@Suite(.tags(.model), .modelsWanted) struct QuantDequantTests {
    struct DequantFixture: Decodable {
        struct Tensor: Decodable { let name: String; let type: String; let count: Int; let values: [Float] }
        let tensors: [Tensor]
    }

    static let fixturesPresent = TestModels.keys.allSatisfy {
        FileManager.default.fileExists(atPath: Fixtures.url("\($0)/dequant.json").path)
    }

    @Test(.enabled(if: fixturesPresent), arguments: TestModels.keys)
    func dequantizationMatchesLlamaCpp(key: String) throws {
        let file = try TestModels.gguf(key)
        let fixture = try Fixtures.load("\(key)/dequant.json", as: DequantFixture.self)
        #expect(!fixture.tensors.isEmpty)
        for expected in fixture.tensors {
            let tensor = try #require(file.tensor(named: expected.name))
            #expect(tensor.type.name == expected.type)
            let m = try QuantizedMatrix(tensor)
            var values: [Float] = []
            var row = 0
            while values.count < expected.count {
                values += m.dequantizeRow(row)
                row += 1
            }
            let got = Array(values.prefix(expected.count))
            let mismatches = zip(got, expected.values).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(key) \(expected.name): \(mismatches) of \(expected.count) differ")
        }
    }

    /// Every block of every quantized tensor of the models dequantizes to
    /// finite values (a wrong block layout reads scales from quant bytes).
    @Test(arguments: TestModels.keys)
    func modelTensorsDequantizeToFiniteValues(key: String) throws {
        let file = try TestModels.gguf(key)
        for tensor in file.tensors where QuantizedMatrix.supports(tensor.type) {
            let m = try QuantizedMatrix(tensor)
            var buffer = [Float](repeating: 0, count: m.cols)
            var finite = true
            for r in stride(from: 0, to: m.rows, by: max(1, m.rows / 64)) {
                m.dequantizeRow(r, into: &buffer)
                if !buffer.allSatisfy(\.isFinite) { finite = false }
            }
            #expect(finite, "\(key) \(tensor.name)")
        }
    }
}
