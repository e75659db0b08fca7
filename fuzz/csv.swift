// libFuzzer target: the HR CSV tokenizer (Sources/RollcallHR/CSVParser.swift) on any bytes.
// Built by scripts/fuzz; not part of the package.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var parser = CSVParser(bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    var records = 0
    while records < 100_000, let record = try? parser.next() {
        records += 1
        precondition(record.line >= 1)
    }
    return 0
}
