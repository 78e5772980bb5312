import Foundation
import GSVBrowserTesting
import Testing

@Suite("Browser harness (headless Chromium over WebDriver)", .enabled(if: Browser.isAvailable, Browser.unavailableReason))
struct BrowserTests {
    /// A page built from a data: URL, so the harness is tested without any server.
    static let page = "data:text/html;charset=utf-8," + """
        <!doctype html><html><body><h1 id="t">Hello</h1><input id="name"><button id="b">Go</button><p id="out"></p>
        <script>
        document.getElementById('b').addEventListener('click', () => {
          document.getElementById('out').textContent = 'hi ' + document.getElementById('name').value;
        });
        document.getElementById('name').addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.ctrlKey) document.getElementById('out').textContent = 'chord'; });
        console.error('deliberate error');
        </script></body></html>
        """.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!

    @Test("Navigate, find, type, click, key chords, scripts, waiting, the console log and screenshots")
    func basics() async throws {
        try await Browser.with { browser in
            try await browser.open(Self.page)
            #expect(try await browser.text("#t") == "Hello")
            try await browser.type("#name", "there")
            try await browser.click("#b")
            try await browser.waitUntil("document.getElementById('out').textContent === 'hi there'", what: "the click's effect")
            try await browser.execute("document.getElementById('name').focus()")
            try await browser.pressChord([.control, .enter])
            #expect(try await browser.text("#out") == "chord")
            #expect(try await browser.execute("return 6 * 7").number == 42)
            #expect(try await browser.executeAsync("const done = arguments[0]; setTimeout(() => done('later'), 10)").string == "later")
            #expect(try await browser.findAll("input, button").count == 2)
            // A script that throws counts as "not yet" while waiting; the timeout names it.
            await #expect(throws: WebDriverError.self) {
                try await browser.waitUntil("document.querySelector('#missing').textContent", timeout: 0.3, what: "an element that never comes")
            }
            let errors = try await browser.consoleErrors()
            #expect(errors.count == 1)
            #expect(errors.first?.message.contains("deliberate error") == true)
            let png = try await browser.screenshot()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            try await browser.resize(width: 400, height: 700)
            #expect(try await browser.execute("return window.innerWidth").number ?? 0 <= 400)
        }
    }

    @Test("Browser language: --lang and Accept-Language follow the options")
    func language() async throws {
        var options = Browser.Options()
        options.language = "zh-CN"
        try await Browser.with(options) { browser in
            try await browser.open("data:text/html,<p>x</p>")
            #expect(try await browser.execute("return navigator.language").string == "zh-CN")
        }
    }
}
