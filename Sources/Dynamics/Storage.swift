// Owned, growable raw storage for per-atom arrays: hot loops take the pointer once,
// and growth happens only on neighbour-list rebuilds, never inside an ordinary step.

/// A growable buffer of trivial values reached through one pointer.
final class RawArray<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int, initial: Element) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
        pointer.initialize(repeating: initial, count: self.capacity)
        fill = initial
    }

    private let fill: Element

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements, keeping the first `keep`.
    func reserve(_ count: Int, keep: Int) {
        guard count > capacity else { return }
        let newCapacity = max(count, capacity + capacity / 2)
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.initialize(repeating: fill, count: newCapacity)
        fresh.update(from: pointer, count: min(keep, capacity))
        pointer.deallocate()
        pointer = fresh
        capacity = newCapacity
    }

    subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}
