// libFuzzer target: RFC 4514 DN parsing and comparison (Sources/RollcallDirectory/DistinguishedName.swift).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let dn = DistinguishedName(text) {
        precondition(dn == dn)
        // A DN is within itself; splitting the input in two gives a base to test against.
        precondition(DistinguishedName.isWithin(text, base: text))
        if let comma = text.firstIndex(of: ",") {
            _ = DistinguishedName.isWithin(text, base: String(text[text.index(after: comma)...]))
        }
    }
    return 0
}
