// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Rollcall",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rollcall", targets: ["rollcall"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap2-dev"])]
        ),
        .target(name: "RollcallCore", swiftSettings: swiftSettings),
        .target(
            name: "RollcallDirectory",
            dependencies: ["RollcallCore", "COpenLDAP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RollcallHR",
            dependencies: [
                "RollcallCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RollcallStore",
            dependencies: ["RollcallCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RollcallFeed",
            dependencies: [
                "RollcallCore", "RollcallStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RollcallDaemon",
            dependencies: [
                "RollcallCore", "RollcallDirectory", "RollcallHR", "RollcallStore", "RollcallFeed",
                .product(name: "Yams", package: "Yams"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "rollcall",
            dependencies: [
                "RollcallDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzz targets (scripts/fuzz builds the driver with libFuzzer; the tests replay regressions).
        .target(
            name: "RollcallFuzzing",
            dependencies: ["RollcallCore", "RollcallDirectory", "RollcallHR", "RollcallDaemon", "COpenLDAP"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "rollcall-fuzz", dependencies: ["RollcallFuzzing"], swiftSettings: swiftSettings),
        .target(name: "RollcallTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "RollcallCoreTests", dependencies: ["RollcallCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RollcallDirectoryTests",
            dependencies: ["RollcallDirectory", "RollcallTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RollcallHRTests", dependencies: ["RollcallHR", "RollcallTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RollcallStoreTests", dependencies: ["RollcallStore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RollcallDaemonTests",
            dependencies: ["RollcallDaemon", "RollcallTestSupport", "RollcallFuzzing"],
            swiftSettings: swiftSettings
        ),
    ]
)
