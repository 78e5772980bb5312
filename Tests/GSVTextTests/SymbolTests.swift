import Foundation
import Testing
import GSVTestSupport
@testable import GSVText

@Suite struct SymbolTests {
    @Test func v2TableMatchesFixture() throws {
        let url = Fixtures.url("v2/text/symbols_v2.json")
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let expected = try #require(obj?["symbols"] as? [String])
        let table = try SymbolTable.v2
        #expect(table.symbols == expected)
        #expect(table.symbols.count == 732)
    }

    @Test func keyIDs() throws {
        for t in [try SymbolTable.v1, try SymbolTable.v2] {
            #expect(t.id(of: "!") == 0)
            #expect(t.id(of: ",") == 1)
            #expect(t.id(of: "SP2") == 78)
            #expect(t.id(of: "UNK") == 86)
            #expect(t.id(of: "_") == 95)
            #expect(t.id(of: "…") == 321)
        }
        #expect(try SymbolTable.v1.symbols.count == 322)
        #expect(try Array(SymbolTable.v2.symbols.prefix(322)) == SymbolTable.v1.symbols)
    }

    @Test func unknownPhones() throws {
        let t = try SymbolTable.v2
        #expect(t.replacingUnknown(["a1", "zzz"]) == ["a1", "UNK"])
        #expect(throws: TextError.unknownPhone("zzz")) { try t.ids(for: ["zzz"]) }
    }
}
