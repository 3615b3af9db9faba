import ForgeCore
import Foundation
@testable import ResultsIO
import XCTest

final class HDF5WrapperTests: XCTestCase {
    var dir: TempDir!
    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.remove() }

    func testGroupsAttributesAndDatasetsRoundTrip() throws {
        let path = dir.file("generic.h5")
        do {
            let file = try H5File.create(path)
            try file.setAttribute("title", "héllo wörld")
            try file.setAttribute("count", Int64(-42))
            try file.setAttribute("plain_int", 7)
            try file.setAttribute("pi", 3.25)
            try file.setAttribute("version", [Int32(1), 1])
            try file.setAttribute("weights", [0.5, 1.5, -2.0])
            try file.setAttribute("big", UInt64.max)
            try file.setAttribute("boundary", ["periodic", "periodic", "none"])
            try file.setAttribute("title", "replaced")  // rewriting replaces

            let group = try file.createGroup("/a/b")  // intermediate group created
            try group.setAttribute("unit", "nm")
            XCTAssertEqual(group.path, "/a/b")
            let nested = try group.createGroup("c")
            XCTAssertEqual(nested.path, "/a/b/c")

            let d1 = try file.writeDataset("/a/values", [1.0, 2.5, -3.0])
            try d1.setAttribute("unit", "nm ps-1")
            try file.writeDataset("/a/ints", [Int64(-1), 2, Int64.min], shape: [3])
            try file.writeDataset("/a/uints", [UInt64.max, 0, 5, 6], shape: [2, 2])
            try file.writeDataset("matrix", (0..<24).map(Double.init), shape: [2, 3, 4])
            try file.writeDataset("/text/scalar", string: "OPENQASM 2.0;\nqreg q[2];\n")
            try file.writeDataset("/text/list", strings: ["H", "O", "ünï"])

            // Hyperslab write into the middle of a fixed 2-D dataset.
            let grid = try file.createDataset("/grid", type: .file(Double.self), shape: [4, 5])
            let block: [Double] = [1, 2, 3, 4, 5, 6]
            try block.withUnsafeBufferPointer { try grid.write($0, offset: [1, 2], count: [2, 3]) }
            XCTAssertThrowsError(try block.withUnsafeBufferPointer { try grid.write($0, offset: [3, 3], count: [2, 3]) })

            // Extendable, chunked: frames appended one at a time (as H5MD will).
            let frames = try file.createDataset("/particles/trajectory/position/value", type: .file(Double.self),
                                                shape: [0, 2, 3], maxShape: [nil, 2, 3], chunk: [1, 2, 3])
            try frames.append((0..<6).map(Double.init))
            try frames.append((6..<18).map(Double.init))  // two frames at once
            let steps = try file.createDataset("/particles/trajectory/position/step", type: .file(Int64.self),
                                               shape: [0], maxShape: [nil])
            try steps.append([Int64(0)])
            try steps.append([Int64(10), 20])
            try file.createSoftLink("/particles/trajectory/velocity/step", to: "/particles/trajectory/position/step")
            try file.close()
        }

        let file = try H5File.open(path)
        XCTAssertEqual(try file.attribute("title"), .string("replaced"))
        XCTAssertEqual(try file.attribute("count"), .int(-42))
        XCTAssertEqual(try file.attribute("plain_int"), .int(7))
        XCTAssertEqual(try file.attribute("pi"), .double(3.25))
        XCTAssertEqual(try file.attribute("version"), .ints([1, 1]))
        XCTAssertEqual(try file.attribute("weights"), .doubles([0.5, 1.5, -2.0]))
        XCTAssertEqual(try file.attribute("big"), .uint(UInt64.max))
        XCTAssertEqual(try file.attribute("boundary"), .strings(["periodic", "periodic", "none"]))
        XCTAssertEqual(try file.attributeNames(),
                       ["big", "boundary", "count", "pi", "plain_int", "title", "version", "weights"])
        XCTAssertNil(try file.attributeIfPresent("missing"))

        XCTAssertTrue(file.exists("/a/b/c"))
        XCTAssertFalse(file.exists("/a/x/c"))
        XCTAssertEqual(file.kind(of: "/a/b"), .group)
        XCTAssertEqual(file.kind(of: "/a/values"), .dataset)
        XCTAssertNil(file.kind(of: "/nope"))
        XCTAssertEqual(try file.childNames(), ["a", "grid", "matrix", "particles", "text"])
        XCTAssertEqual(try file.openGroup("/a/b").attribute("unit"), .string("nm"))

        let values = try file.openDataset("/a/values")
        XCTAssertEqual(try values.readAll(Double.self), [1.0, 2.5, -3.0])
        XCTAssertEqual(try values.attribute("unit").stringValue, "nm ps-1")
        XCTAssertEqual(try file.openDataset("/a/ints").readAll(Int64.self), [-1, 2, Int64.min])
        let uints = try file.openDataset("/a/uints")
        XCTAssertEqual(try uints.shape(), [2, 2])
        XCTAssertEqual(try uints.readAll(UInt64.self), [UInt64.max, 0, 5, 6])
        let matrix = try file.openDataset("matrix")
        XCTAssertEqual(try matrix.read(Double.self, offset: [1, 1, 0], count: [1, 2, 2]), [16, 17, 20, 21])
        XCTAssertEqual(try file.openDataset("/text/scalar").value(), .string("OPENQASM 2.0;\nqreg q[2];\n"))
        XCTAssertEqual(try file.openDataset("/text/list").value(), .strings(["H", "O", "ünï"]))

        let grid = try file.openDataset("/grid").readAll(Double.self)
        XCTAssertEqual(grid, [0, 0, 0, 0, 0,
                              0, 0, 1, 2, 3,
                              0, 0, 4, 5, 6,
                              0, 0, 0, 0, 0])

        let frames = try file.openDataset("/particles/trajectory/position/value")
        let dims = try frames.dimensions()
        XCTAssertEqual(dims.shape, [3, 2, 3])
        XCTAssertEqual(dims.maxShape, [nil, 2, 3])
        XCTAssertEqual(try frames.chunkShape(), [1, 2, 3])
        XCTAssertEqual(try frames.readAll(Double.self), (0..<18).map(Double.init))
        XCTAssertEqual(try file.openDataset("/particles/trajectory/velocity/step").readAll(Int64.self), [0, 10, 20])

        try checkWithH5py("""
        import sys, h5py, numpy as np
        f = h5py.File(sys.argv[1], 'r')
        a = f.attrs
        assert isinstance(a['title'], str) and a['title'] == 'replaced', repr(a['title'])
        assert a['count'].dtype == np.int64 and a['count'] == -42
        assert a['pi'].dtype == np.float64
        assert a['version'].dtype == np.int32 and list(a['version']) == [1, 1]
        assert a['big'].dtype == np.uint64 and a['big'] == 2**64 - 1
        assert list(a['boundary']) == ['periodic', 'periodic', 'none'], a['boundary']
        assert h5py.check_string_dtype(f.attrs.get_id('title').dtype).length is None  # variable length
        assert f['a/b'].attrs['unit'] == 'nm'
        assert f['a/values'].attrs['unit'] == 'nm ps-1'
        assert f['a/uints'].dtype == np.uint64 and f['a/uints'].shape == (2, 2)
        assert f['matrix'].shape == (2, 3, 4) and f['matrix'][1, 2, 3] == 23.0
        assert f['text/scalar'].asstr()[()] == 'OPENQASM 2.0;\\nqreg q[2];\\n'
        assert list(f['text/list'].asstr()[:]) == ['H', 'O', 'ünï']
        v = f['particles/trajectory/position/value']
        assert v.shape == (3, 2, 3) and v.maxshape == (None, 2, 3) and v.chunks == (1, 2, 3)
        assert v[2, 1, 2] == 17.0
        assert list(f['particles/trajectory/velocity/step'][:]) == [0, 10, 20]
        print('ok')
        """, [path])
    }

    func testComplexCompoundReadsAsComplex128() throws {
        let path = dir.file("complex.h5")
        let file = try H5File.create(path)
        let ds = try file.createDataset("z", type: .complex128(), shape: [3])
        let data: [Double] = [1, -1, 0.5, 2, -0.25, 0]
        try data.withUnsafeBytes { try ds.write(raw: $0.baseAddress!, memoryType: .complex128(file: false), offset: [0], count: [3]) }
        try ds.close()
        try file.close()
        try checkWithH5py("""
        import sys, h5py, numpy as np
        z = h5py.File(sys.argv[1], 'r')['z']
        assert z.dtype == np.complex128, z.dtype
        assert np.array_equal(z[()], np.array([1-1j, 0.5+2j, -0.25+0j]))
        """, [path])
    }

    func testErrorsNameFunctionAndPathWithoutHDF5Backtraces() throws {
        let missing = dir.file("does-not-exist.h5")
        var thrown: Error?
        let stderrText = capturingStderr {
            do { _ = try H5File.open(missing) } catch { thrown = error }
        }
        XCTAssertEqual(stderrText, "", "HDF5 printed to stderr")
        let error = try XCTUnwrap(thrown as? RuntimeError)
        XCTAssertTrue(error.message.contains("H5Fopen"), error.message)
        XCTAssertTrue(error.message.contains(missing), error.message)

        let file = try H5File.create(dir.file("e.h5"))
        var datasetError: Error?
        let stderrText2 = capturingStderr {
            do { _ = try file.openDataset("/no/such") } catch { datasetError = error }
        }
        XCTAssertEqual(stderrText2, "")
        let message = try XCTUnwrap(datasetError as? RuntimeError).message
        XCTAssertTrue(message.contains("H5Dopen2") && message.contains("/no/such"), message)

        // Writing to a file opened read-only fails cleanly too.
        try file.writeDataset("x", [1.0])
        try file.close()
        let readOnly = try H5File.open(dir.file("e.h5"))
        XCTAssertThrowsError(try readOnly.setAttribute("a", 1.0)) { error in
            XCTAssertTrue(error is RuntimeError)
        }
    }

    func testFileOutlivesScopeOfObjectsAndClosesInDeinit() throws {
        let path = dir.file("lifetime.h5")
        var dataset: H5Dataset? = try H5File.create(path).createDataset("d", type: .file(Int64.self), shape: [2])
        try dataset!.writeAll([Int64(4), 5])  // the file is kept open by the dataset
        dataset = nil                          // last reference: dataset, then file closed
        XCTAssertEqual(try H5File.open(path).openDataset("d").readAll(Int64.self), [4, 5])
        // Re-creating (truncating) works because nothing holds the file any more.
        let again = try H5File.create(path)
        XCTAssertFalse(again.exists("d"))
    }
}
