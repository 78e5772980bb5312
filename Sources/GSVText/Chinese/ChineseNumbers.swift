import Foundation

// Follows GPT_SoVITS/text/zh_normalization/num.py: num2str, verbalize_cardinal, verbalize_digit,
// _get_value (Chinese number reading).

enum ChineseNumbers {
    static let digits: [Character] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
    /// Units by power of ten, largest first.
    static let units: [(Int, String)] = [(8, "亿"), (4, "万"), (3, "千"), (2, "百"), (1, "十")]

    static func digit(_ c: Character) -> String {
        guard let v = c.wholeNumberValue, (0...9).contains(v) else { return String(c) }
        return String(digits[v])
    }

    private static func value(_ s: Substring, useZero: Bool = true) -> [String] {
        let stripped = s.drop(while: { $0 == "0" })
        if stripped.isEmpty { return [] }
        if stripped.count == 1 {
            if useZero && stripped.count < s.count { return ["零", digit(stripped.first ?? "0")] }
            return [digit(stripped.first ?? "0")]
        }
        guard let (power, name) = units.first(where: { $0.0 < stripped.count }) else { return [] }
        let first = s.dropLast(power), second = s.suffix(power)
        return value(first) + [name] + value(second)
    }

    /// Cardinal reading of a digit string ("12" → 十二, "0" → 零).
    static func cardinal(_ s: Substring) -> String {
        if s.isEmpty { return "" }
        let v = s.drop(while: { $0 == "0" })
        if v.isEmpty { return "零" }
        var r = value(v)
        if r.count >= 2, r[0] == "一", r[1] == "十" { r.removeFirst() }
        return r.joined()
    }

    /// Digit-by-digit reading; `altOne` reads 1 as 幺.
    static func digitwise(_ s: Substring, altOne: Bool = false) -> String {
        var out = ""
        for c in s { out += (altOne && c == "1") ? "幺" : digit(c) }
        return out
    }

    /// num2str: integer part as a cardinal, decimal part digit by digit.
    static func numToString(_ s: Substring) -> String {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts.first ?? ""
        var decimal: Substring = parts.count >= 2 ? parts[1] : ""
        var result = cardinal(integer)
        if decimal.hasSuffix("0") {
            decimal = Substring(String(decimal.reversed().drop(while: { $0 == "0" }).reversed()) + "0")
        } else {
            while decimal.hasSuffix("0") { decimal = decimal.dropLast() }
        }
        if !decimal.isEmpty {
            if result.isEmpty { result = "零" }
            result += "点" + digitwise(decimal)
        }
        return result
    }
}
