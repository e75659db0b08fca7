// libFuzzer target: Active Directory value decoders (Sources/RollcallDirectory/ADValues.swift):
// objectGUID and objectSid bytes, FILETIME and generalized time text, userAccountControl text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = ADValues.guid(bytes)
    _ = ADValues.sid(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = ADValues.fileTime(text)
    _ = ADValues.generalizedTime(text)
    _ = UserAccountControl(text: text)
    return 0
}
