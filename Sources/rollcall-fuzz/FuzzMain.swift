import Foundation
import RollcallFuzzing

// The fuzzing driver. Built two ways:
// - normally (every `swift build`): `rollcall-fuzz TARGET FILE...` runs each file through the
//   target once and says which fail: a found crash replayed without the sanitizers;
// - by scripts/fuzz with `-sanitize=fuzzer,address -DFUZZING`: libFuzzer's driver, the target
//   taken from ROLLCALL_FUZZ_TARGET, its arguments libFuzzer's (corpus directories, -runs=N).
// Both read the recommended configurations from the checkout (ROLLCALL_REPOSITORY, or the
// current directory).

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Set once before the driver starts, read only after.
nonisolated(unsafe) var fuzzing: (harness: FuzzHarness, target: FuzzTarget)?

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let fuzzing else { return 0 }
    do {
        try fuzzing.harness.run(fuzzing.target, Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        fatalError("\(fuzzing.target.rawValue): \(error)")
    }
    return 0
}
#endif

@main
struct FuzzMain {
    static func main() {
        let environment = ProcessInfo.processInfo.environment
        let repository = URL(fileURLWithPath: environment["ROLLCALL_REPOSITORY"] ?? FileManager.default.currentDirectoryPath)
        let harness: FuzzHarness
        do {
            harness = try FuzzHarness(repository: repository)
        } catch {
            fail("cannot read the configurations under \(repository.path): \(error)")
        }
        #if FUZZING
        guard let name = environment["ROLLCALL_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            fail("set ROLLCALL_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        fuzzing = (harness, target)
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv) { fuzzOne($0, $1) })
        #else
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            fail("usage: rollcall-fuzz TARGET FILE...   (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var failed = 0
        for file in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("\(file): cannot be read"); failed += 1; continue
            }
            do {
                try harness.run(target, Array(data))
                print("\(file): ok")
            } catch {
                print("\(file): \(error)"); failed += 1
            }
        }
        exit(failed == 0 ? 0 : 1)
        #endif
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rollcall-fuzz: \(message)\n".utf8))
        exit(2)
    }
}
