@testable import Catalog
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

final class HTTPTests: XCTestCase {
    struct Fixture {
        let store: SQLiteStore
        let admin: String
        let chemRecorder: String
        let chemReader: String
        let physRecorder: String
    }

    func fixture() throws -> Fixture {
        let store = try SQLiteStore()
        let admin = try store.createKey(name: "admin", role: .admin, accounts: [], actor: "test").1
        let chemRecorder = try store.createKey(name: "rec", role: .recorder, accounts: ["chem"], actor: "test").1
        let chemReader = try store.createKey(name: "read", role: .reader, accounts: ["chem"], actor: "test").1
        let physRecorder = try store.createKey(name: "phys", role: .recorder, accounts: ["phys"], actor: "test").1
        return Fixture(store: store, admin: admin, chemRecorder: chemRecorder, chemReader: chemReader, physRecorder: physRecorder)
    }

    func app(_ f: Fixture) -> some ApplicationProtocol {
        Application(router: CatalogService.router(store: f.store))
    }

    func testPublicEndpointsAndSpec() async throws {
        let f = try fixture()
        try await app(f).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { XCTAssertEqual($0.status, .ok) }
            // A load balancer's probe or a scraper with a wrong or revoked key still gets its answer.
            for uri in ["/healthz", "/metrics", "/openapi.yaml"] {
                try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer bogus"]) { XCTAssertEqual($0.status, .ok, uri) }
            }
            try await client.execute(uri: "/openapi.yaml", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let onDisk = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("../../docs/openapi.yaml").path, encoding: .utf8)
                XCTAssertEqual(String(buffer: r.body), onDisk, "regenerate Sources/Catalog/OpenAPISpec.swift (docs/catalog.md)")
            }
            try await client.execute(uri: "/api/v1/runs", method: .get, headers: auth(f.admin))
            try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains("qforge_catalog_http_requests_total{method=\"GET\",status=\"200\"}"), text)
                XCTAssertTrue(text.contains("qforge_catalog_runs{state=\"completed\"} 0"))
            }
        }
    }

    /// Every route the router serves, method and path, is documented in the OpenAPI spec.
    func testEveryRouteIsInTheSpec() throws {
        let spec = OpenAPISpec.yaml
        let routes = CatalogService.router(store: try fixture().store).routes
        XCTAssertGreaterThan(routes.count, 15)
        for route in routes {
            var path = route.path.description
            if !path.hasPrefix("/") { path = "/" + path }
            guard let start = spec.range(of: "\n  \(path):\n") else {
                XCTFail("\(path) is served but not in the spec"); continue
            }
            // The path's block runs to the next path entry (two-space indent).
            let rest = spec[start.upperBound...]
            let block = rest.range(of: "\n  /").map { rest[..<$0.lowerBound] } ?? rest
            XCTAssertTrue(block.contains("    \(route.method.rawValue.lowercased()):"), "\(route.method) \(path) is served but not in the spec")
        }
    }

    func testAuthRolesAndAccounts() async throws {
        let f = try fixture()
        try f.store.upsertRun(makeRun("phys-run", account: "phys"), actor: "t")
        try await app(f).test(.router) { client in
            // No key, bad key: 401.
            try await client.execute(uri: "/api/v1/runs", method: .get) { XCTAssertEqual($0.status, .unauthorized) }
            try await client.execute(uri: "/api/v1/runs", method: .get, headers: auth("qfk_abcdefgh_" + String(repeating: "0", count: 64))) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            try await client.execute(uri: "/api/v1/runs", method: .get, headers: [.authorization: "Bearer nonsense"]) { XCTAssertEqual($0.status, .unauthorized) }
            // Recorder records for its account…
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: auth(f.chemRecorder), body: body(makeRun("chem-1", state: .running))) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/api/v1/runs/chem-1", method: .put, headers: auth(f.chemRecorder), body: body(makeRun("chem-1"))) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try decode(RunRecord.self, r).state, .completed)
            }
            // …but not for another, nor over another account's run.
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: auth(f.chemRecorder), body: body(makeRun("x", account: "phys"))) {
                XCTAssertEqual($0.status, .forbidden)
            }
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: auth(f.chemRecorder), body: body(makeRun("phys-run", account: "chem"))) {
                XCTAssertEqual($0.status, .forbidden)
            }
            // Reader reads, cannot write.
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: auth(f.chemReader), body: body(makeRun("chem-2"))) {
                XCTAssertEqual($0.status, .forbidden)
            }
            try await client.execute(uri: "/api/v1/runs/chem-1", method: .get, headers: auth(f.chemReader)) { XCTAssertEqual($0.status, .ok) }
            // Across accounts: 404 for ids, 403 for an explicit filter; lists only show own accounts.
            try await client.execute(uri: "/api/v1/runs/phys-run", method: .get, headers: auth(f.chemReader)) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/v1/runs?account=phys", method: .get, headers: auth(f.chemReader)) { XCTAssertEqual($0.status, .forbidden) }
            try await client.execute(uri: "/api/v1/runs", method: .get, headers: auth(f.chemReader)) { r in
                XCTAssertEqual(try decode(Page<RunRecord>.self, r).items.map(\.account), ["chem"])
            }
            try await client.execute(uri: "/api/v1/accounts/phys", method: .get, headers: auth(f.chemReader)) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/v1/accounts/phys/invoices/2026-11", method: .get, headers: auth(f.chemReader)) { XCTAssertEqual($0.status, .notFound) }
            // Admin-only routes.
            for (uri, method) in [("/api/v1/keys", HTTPRequest.Method.get), ("/api/v1/audit", .get), ("/api/v1/accounts/chem/invoices/2026-11/issue", .post)] {
                try await client.execute(uri: uri, method: method, headers: auth(f.chemRecorder)) { XCTAssertEqual($0.status, .forbidden, uri) }
            }
            try await client.execute(uri: "/api/v1/rates", method: .post, headers: auth(f.chemReader),
                                     body: body(Rate(coreHourMicros: 1, validFrom: date("2026-01-01")))) { XCTAssertEqual($0.status, .forbidden) }
        }
    }

    func testKeysShownOnceAndRevocation() async throws {
        let f = try fixture()
        try await app(f).test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/keys", method: .post, headers: auth(f.admin),
                                                   body: ByteBuffer(string: #"{"name":"ci","role":"recorder","accounts":["chem"]}"#))
            XCTAssertEqual(created.status, .created)
            struct Created: Decodable { var key: APIKey; var token: String }
            let c = try decode(Created.self, created)
            XCTAssertEqual(c.key.prefix, String(c.token.split(separator: "_")[1]))
            try await client.execute(uri: "/api/v1/keys", method: .get, headers: auth(f.admin)) { r in
                XCTAssertFalse(String(buffer: r.body).contains(c.token))
                XCTAssertTrue(String(buffer: r.body).contains(c.key.prefix))
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: auth(c.token)) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/v1/keys/\(c.key.id)", method: .delete, headers: auth(f.admin)) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: auth(c.token)) { XCTAssertEqual($0.status, .unauthorized) }
            try await client.execute(uri: "/api/v1/keys/999", method: .delete, headers: auth(f.admin)) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/v1/keys/abc", method: .delete, headers: auth(f.admin)) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/v1/audit", method: .get, headers: auth(f.admin)) { r in
                XCTAssertTrue(String(buffer: r.body).contains("key.revoke"))
            }
        }
    }

    /// Ended runs are served from the response cache: a re-recorded run is read back as written
    /// at once, and a cached run stays hidden from keys of other accounts.
    func testReadsOwnWritesThroughTheRunCache() async throws {
        let f = try fixture()
        try await app(f).test(.router) { client in
            var run = makeRun("cached")
            for exitCode in [0, 3, 4] {
                run.exitCode = exitCode
                run.metrics["attempt"] = Double(exitCode)
                try await client.execute(uri: "/api/v1/runs/cached", method: .put, headers: auth(f.chemRecorder), body: body(run)) {
                    XCTAssertEqual($0.status, .ok)
                }
                for _ in 0..<2 {  // the second read is a cache hit
                    try await client.execute(uri: "/api/v1/runs/cached", method: .get, headers: auth(f.chemReader)) { r in
                        XCTAssertEqual(r.status, .ok)
                        let got = try decode(RunRecord.self, r)
                        XCTAssertEqual(got.exitCode, exitCode)
                        XCTAssertEqual(got.metrics["attempt"], Double(exitCode))
                    }
                    try await client.execute(uri: "/api/v1/runs/cached", method: .get, headers: auth(f.physRecorder)) {
                        XCTAssertEqual($0.status, .notFound)
                    }
                }
            }
        }
    }

    func testBadInputNeverGives5xx() async throws {
        let f = try fixture()
        try await app(f).test(.router) { client in
            let h = auth(f.admin)
            let cases: [(String, HTTPRequest.Method, String?, HTTPResponse.Status)] = [
                ("/api/v1/runs", .post, "{not json", .badRequest),
                ("/api/v1/runs", .post, "[]", .badRequest),
                ("/api/v1/runs", .post, #"{"id":"x"}"#, .badRequest),
                ("/api/v1/runs", .post, "", .badRequest),
                ("/api/v1/runs/nope", .get, nil, .notFound),
                ("/api/v1/runs?limit=0", .get, nil, .badRequest),
                ("/api/v1/runs?limit=abc", .get, nil, .badRequest),
                ("/api/v1/runs?state=exploded", .get, nil, .badRequest),
                ("/api/v1/runs?since=yesterday", .get, nil, .badRequest),
                ("/api/v1/runs?cursor=garbage", .get, nil, .badRequest),
                ("/api/v1/accounts/nobody", .get, nil, .notFound),
                ("/api/v1/accounts/nobody/invoices/2026-11", .get, nil, .notFound),
                ("/api/v1/accounts/chem/invoices/2026-99", .get, nil, .badRequest),
                ("/api/v1/accounts/a%20b", .put, "{}", .badRequest),
                ("/api/v1/accounts/chem", .put, #"{"budget_cents":-5}"#, .badRequest),
                ("/api/v1/accounts/chem", .put, #"{"budget_cents":1.5}"#, .badRequest),
                ("/api/v1/rates", .post, #"{"partition":"*","currency":"EUR","core_hour_micros":-1,"node_hour_micros":0,"valid_from":"2026-01-01"}"#, .badRequest),
                ("/api/v1/rates", .post, #"{"partition":"*","currency":"EUR","core_hour_micros":1,"node_hour_micros":0,"valid_from":"soon"}"#, .badRequest),
                ("/api/v1/keys", .post, #"{"name":"x","role":"god"}"#, .badRequest),
                ("/api/v1/keys", .post, #"{"name":"x","role":"reader"}"#, .badRequest),
                ("/api/v1/apps", .post, #"{"name":"","kind":"x"}"#, .badRequest),
                ("/api/v1/audit?limit=100000", .get, nil, .badRequest),
                ("/api/v1/nothing", .get, nil, .notFound),
            ]
            for (uri, method, text, expected) in cases {
                try await client.execute(uri: uri, method: method, headers: h, body: text.map { ByteBuffer(string: $0) }) { r in
                    XCTAssertEqual(r.status, expected, "\(method) \(uri): \(String(buffer: r.body))")
                }
            }
            // A put for a run whose body names another id.
            try await client.execute(uri: "/api/v1/runs/a", method: .put, headers: h, body: body(makeRun("b"))) { XCTAssertEqual($0.status, .badRequest) }
            // Oversized body.
            var big = makeRun("big")
            big.command = String(repeating: "x", count: 100_000)
            try await client.execute(uri: "/api/v1/runs", method: .post, headers: h, body: body(big)) { XCTAssertEqual($0.status, .contentTooLarge) }
            // Injection strings in every filter and path.
            for s in injectionStrings {
                let q = s.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                for param in ["account", "app", "user", "state", "since", "until", "cursor", "limit"] {
                    try await client.execute(uri: "/api/v1/runs?\(param)=\(q)", method: .get, headers: h) { r in
                        XCTAssertLessThan(r.status.code, 500, "\(param)=\(s)")
                    }
                }
                try await client.execute(uri: "/api/v1/runs/\(q)", method: .get, headers: h) { XCTAssertEqual($0.status, .notFound) }
                try await client.execute(uri: "/api/v1/accounts/\(q)/invoices/2026-11", method: .get, headers: h) { XCTAssertLessThan($0.status.code, 500) }
            }
            try await client.execute(uri: "/api/v1/runs", method: .get, headers: h) { XCTAssertEqual($0.status, .ok) }
        }
        XCTAssertEqual(try f.store.runs(RunFilter()).items.count, 0)
        XCTAssertGreaterThan(try f.store.audit(limit: 10, after: nil).count, 0)
    }

    func testBillingOverHTTP() async throws {
        let f = try fixture()
        try await app(f).test(.router) { client in
            let h = auth(f.admin)
            try await client.execute(uri: "/api/v1/accounts/chem", method: .put, headers: h, body: ByteBuffer(string: #"{"currency":"EUR","budget_cents":1000}"#)) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/api/v1/rates", method: .post, headers: h,
                                     body: body(Rate(coreHourMicros: 20_000, validFrom: date("2026-01-01")))) { XCTAssertEqual($0.status, .created) }
            for i in 0..<3 {
                try await client.execute(uri: "/api/v1/runs", method: .post, headers: auth(f.chemRecorder), body: body(makeRun("r\(i)"))) {
                    XCTAssertEqual($0.status, .ok)
                }
            }
            try await client.execute(uri: "/api/v1/accounts/chem", method: .get, headers: auth(f.chemReader)) { r in
                let a = try decode(Account.self, r)
                XCTAssertEqual(a.usedCents, 24)  // 3 × 4 core-hours × 0.02
                XCTAssertEqual(a.remainingCents, 976)
            }
            try await client.execute(uri: "/api/v1/accounts/chem/invoices/2026-11?format=csv", method: .get, headers: auth(f.chemReader)) { r in
                XCTAssertEqual(r.headers[.contentType], "text/csv")
                XCTAssertTrue(String(buffer: r.body).contains("chem,2026-11,draft,qforge-statevector,3,12.0000,0.24,EUR"))
            }
            try await client.execute(uri: "/api/v1/accounts/chem/invoices/2026-11/issue", method: .post, headers: h) { r in
                XCTAssertEqual(try decode(Invoice.self, r).status, "issued")
            }
            try await client.execute(uri: "/api/v1/runs?account=chem&limit=2", method: .get, headers: auth(f.chemReader)) { r in
                let page = try decode(Page<RunRecord>.self, r)
                XCTAssertEqual(page.items.count, 2)
                XCTAssertNotNil(page.nextCursor)
            }
        }
    }
}

private func auth(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
private func body<T: Encodable>(_ v: T) throws -> ByteBuffer { ByteBuffer(bytes: try CatalogJSON.encoder().encode(v)) }
private func decode<T: Decodable>(_ t: T.Type, _ r: TestResponse) throws -> T { try CatalogJSON.decoder().decode(T.self, from: Data(r.body.readableBytesView)) }
