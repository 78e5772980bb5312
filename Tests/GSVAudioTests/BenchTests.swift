import Foundation
import GSVAudio
import Testing

/// Opt-in timings (`GSV_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter AudioBench`;
/// add `GSV_THREADS=1 OPENBLAS_NUM_THREADS=1` for single-thread numbers): a 10 s clip through the
/// reference-audio front end. Prints median wall and CPU time; asserts only the output shape.
@Suite("AudioBench", .enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH"] == "1", "set GSV_BENCH=1 to run"))
struct AudioBench {
    /// Process CPU time in ms (all threads): on a loaded machine this is steadier than wall time.
    static func cpuMilliseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
    }

    /// Median wall time and median process CPU time (ms) of `runs` calls.
    static func median(_ runs: Int = 7, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        var wall: [Double] = [], cpu: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let c0 = cpuMilliseconds()
            try body()
            cpu.append(cpuMilliseconds() - c0)
            wall.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return (wall.sorted()[runs / 2], cpu.sorted()[runs / 2])
    }

    @Test("10 s clip: resamplers, spectrogram, mel, WAV")
    func frontEnd() throws {
        var rng = TestRNG(state: 7)
        let clip22k = (0..<220_500).map { i in 0.3 * sinf(Float(i) * 0.05) + 0.05 * rng.next() }
        let hq = try KaiserResampler(from: 22050, to: 16000)
        let ta = try SincResampler(from: 22050, to: 32000)
        let spec = try Spectrogram(config: .sovitsV2)
        let mel = try MelFilterbank(sampleRate: 32000, nFFT: 2048, nMels: 128)
        let a32 = ta(clip22k)
        var report: [(String, (wall: Double, cpu: Double))] = []
        report.append(("KaiserResampler 22.05k→16k (build + run)", try Self.median { _ = try KaiserResampler(from: 22050, to: 16000)(clip22k) }))
        report.append(("KaiserResampler 22.05k→16k (run)", Self.median { _ = hq(clip22k) }))
        report.append(("SincResampler 22.05k→32k (build + run)", try Self.median { _ = try SincResampler(from: 22050, to: 32000)(clip22k) }))
        report.append(("SincResampler 22.05k→32k (run)", Self.median { _ = ta(clip22k) }))
        let fft = try RealFFT(n: 2048)
        let frame = Array(a32[0..<2048])
        report.append(("500 × RealFFT(2048), one thread", Self.median {
            var re = [Float](repeating: 0, count: 1025), im = re
            frame.withUnsafeBufferPointer { f in
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { i in for _ in 0..<500 { fft.forward(f, re: r, im: i) } }
                }
            }
        }))
        report.append(("spectrogram 2048/640 of 10 s @32k", try Self.median { _ = try spec.magnitude(a32) }))
        report.append(("log-mel 128 of 10 s @32k", try Self.median { _ = try spec.logMel(a32, filterbank: mel) }))
        let wav = try WAV.encode(clip22k, sampleRate: 22050)
        report.append(("WAV encode 10 s pcm16", try Self.median { _ = try WAV.encode(clip22k, sampleRate: 22050) }))
        report.append(("WAV decode 10 s pcm16", try Self.median { _ = try WAV.decode(wav) }))
        for (name, t) in report {
            print("GSVAudio bench: \(name): wall \(String(format: "%.2f", t.wall)) ms, cpu \(String(format: "%.2f", t.cpu)) ms")
        }
        #expect(try spec.magnitude(a32).shape == [1025, 500])
    }
}
