import GSVCore
import Testing

@Suite struct ModelVersionTests {
    @Test func namesParseCaseInsensitivelyAndRoundTrip() {
        for v in ModelVersion.allCases {
            #expect(ModelVersion(name: v.rawValue) == v)
            #expect(ModelVersion(name: v.rawValue.uppercased()) == v)
        }
        #expect(ModelVersion(name: "v2pro") == .v2Pro)
        #expect(ModelVersion(name: "V2ProPlus") == .v2ProPlus)
        #expect(ModelVersion(name: "v5") == nil && ModelVersion(name: "") == nil)
        #expect(ModelVersion.allCases.map(\.rawValue) == ["v1", "v2", "v2Pro", "v2ProPlus", "v3", "v4"])
    }

    /// v1 has its own 322-phone table; every later version uses the v2 table.
    @Test func symbolTables() {
        #expect(ModelVersion.v1.symbolVersion == .v1 && ModelVersion.v1.symbolTableName == "v1")
        for v in ModelVersion.allCases where v != .v1 {
            #expect(v.symbolVersion == .v2 && v.symbolTableName == "v2")
        }
    }
}
