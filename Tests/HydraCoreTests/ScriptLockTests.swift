import Foundation
import Testing
@testable import HydraCore

/// `--script-lock`: which tokens are banned, the sampler that skips them,
/// and translations under the lock, on the real Gemma vocabulary and the
/// shipped Tatar head.
@Suite("Script lock", .serialized, .tags(.model), .modelsWanted)
struct ScriptLockTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The trans-tokenized Tatar head (the shipped head's start, which
    /// declares the Cyrillic script).
    static let tatarHead = root.appendingPathComponent("heads/tt-gemma3-270m-transtok.gguf").path
    /// English lines for gemma3-270m through the Tatar head. Unmasked, the
    /// first gives "Әйе, I'm чыннан." with AVX2 arithmetic and "Я не зур,
    /// я не зур." with AVX-512; the second names programs that keep their
    /// Latin names.
    static let sentences = [
        "Are you sure you want to close all programs and restart the computer?",
        "Open Firefox, then sign in to GitHub with your Google account.",
    ]

    static func hasLatin(_ text: String) -> Bool { text.unicodeScalars.contains { Script.of($0) == .latin } }

    @Test("letters of other scripts, checked by hand")
    func foreignLetters() {
        func foreign(_ s: String, _ script: Script = .cyrillic) -> Bool {
            ScriptLock.hasForeignLetter(Array(s.utf8), keeping: script)
        }
        #expect(foreign(" cat"))
        #expect(!foreign(" кот"))
        #expect(foreign("котcat"))
        #expect(!foreign(" 2024, "))
        #expect(!foreign("«»—…!?"))
        #expect(!foreign("ә"))                          // Tatar letter: Cyrillic
        #expect(foreign("é"))                           // Latin-1 letter
        #expect(!foreign("\u{301}"))                     // a combining mark alone: Inherited
        #expect(foreign("\u{FFFD}") && foreign("\u{FFFD}", .latin))  // the replacement character: no script's
        #expect(ScriptLock.hasForeignLetter([0x22, 0xEF, 0xBF, 0xBD], keeping: .cyrillic))  // "\"" + U+FFFD as bytes
        #expect(foreign("кот", .latin))
        #expect(!foreign("cat", .latin))
        // Bytes that are not a whole character are neutral; ASCII bytes are characters.
        #expect(!ScriptLock.hasForeignLetter([0xD0], keeping: .cyrillic))          // lead byte of а..п
        #expect(!ScriptLock.hasForeignLetter([0xB0, 0xD0], keeping: .cyrillic))    // tail of one, lead of another
        #expect(ScriptLock.hasForeignLetter([0x41], keeping: .cyrillic))           // "A"
        #expect(ScriptLock.hasForeignLetter([0xD0, 0xB0, 0x61], keeping: .cyrillic))  // "аa"
        #expect(!ScriptLock.hasForeignLetter([0xD0, 0xB0, 0xC3], keeping: .cyrillic)) // "а" + a cut-off "é"
    }

    @Test("the names a translation keeps, found by hand")
    func names() {
        #expect(ScriptLock.names(in: "Failed to load an rc.xml. Openbox is probably not installed.") == ["rc.xml"])
        #expect(ScriptLock.names(in: "Open Firefox, then sign in to GitHub with your Google account.")
                    == ["Firefox", "GitHub", "Google"])
        #expect(ScriptLock.names(in: "Press F10 or Ctrl+C to quit GNU nano (IPv4 only).")
                    == ["F10", "Ctrl+C", "GNU", "IPv4"])
        #expect(ScriptLock.names(in: "Are you sure? Delete all files?").isEmpty)
        #expect(ScriptLock.names(in: "If you win, I will free him.").isEmpty)
        #expect(ScriptLock.names(in: "Бу көн. Мин Казанда яшим.") == ["Казанда"])  // of the target script: never banned
        #expect(ScriptLock.names(in: "").isEmpty)
        #expect(ScriptLock.names(in: "Copy Firefox's bookmarks.") == ["Firefox"])
    }

    @Test("a word the translation memory translates is no name")
    func namesByMemory() throws {
        let pairs = [("Check your Internet connection.", "Интернетка тоташуны тикшерегез."),
                     ("No Internet access", "Интернет юк"), ("Internet radio", "Internet радиосы"),
                     ("Start VLC", "VLC җибәрү"), ("Quit VLC", "VLCдан чыгу"),
                     ("Open with Kate", "Kate белән ачу"), ("Kate is ready", "Кейт әзер")]
        let memory = try TranslationMemory(pairs: pairs.map { TranslationMemory.Pair(source: $0.0, target: $0.1) },
                                           sourceLanguage: "en")
        #expect(memory.keeping("Internet") == (seen: 3, kept: 1))
        #expect(memory.keeping("VLC") == (seen: 2, kept: 2))
        #expect(memory.keeping("internet") == (seen: 0, kept: 0))   // as written
        #expect(memory.keeping("Firefox") == (seen: 0, kept: 0))
        let text = "Open the Internet page of VLC, Kate or Firefox."
        #expect(ScriptLock.names(in: text) == ["Internet", "VLC", "Kate", "Firefox"])
        // Kept in half its translations, Kate stays a name; unseen, Firefox too.
        #expect(ScriptLock.names(in: text, keptBy: memory) == ["VLC", "Kate", "Firefox"])
        // The Tatar pairs hydra ships: "Internet" translated in 8 of 9, "VLC" kept in all 20.
        let tatar = try TranslationMemory.read(tsv: Self.root.appendingPathComponent("data/tt/en-tt.tsv").path,
                                               sourceLanguage: "en")
        #expect(ScriptLock.names(in: "Is VLC on the Internet?", keptBy: tatar) == ["VLC"])
    }

    @Test("a name is begun only at the start of a word and finished as the text spells it")
    func nameSpelling() throws {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 256, batchSize: 64,
                                   pool: ThreadPool(threads: 1))
        let tt = try hydra.heads.load(path: Self.tatarHead, catalog: HeadCatalog(directories: []))
        let text = "A new build of Warzone 2100 for the MATE desktop: see rc.xml or Firefox's settings."
        let spelling = ScriptSpelling(names: ScriptLock.names(in: text), script: .cyrillic, head: tt)
        #expect(spelling.names.map { String(decoding: $0, as: UTF8.self) } == ["Warzone", "MATE", "rc.xml", "Firefox"])
        #expect(ScriptSpelling(names: ScriptLock.names(in: "Delete all files? Бу Казан."), script: .cyrillic, head: tt).names.isEmpty)
        func ids(_ s: String) -> [Int32] { tt.tokenizer.tokenize(s, addSpecial: false, parseSpecial: false) }
        func piece(_ id: Int32) -> String { String(decoding: tt.tokenizer.piece(id), as: UTF8.self) }
        /// Walks `s` token by token, each allowed in turn.
        func walk(_ s: String, from start: SpellingWalk = SpellingWalk()) -> SpellingWalk {
            ids(s).reduce(start) { w, id in
                #expect(spelling.allows(id, after: w), "'\(piece(id))' after '\(String(decoding: w.word, as: UTF8.self))' in '\(s)'")
                return spelling.walked(w, by: id)
            }
        }
        let end = try #require(tt.vocabulary.id(of: "<end_of_turn>"))
        let cyrillicWord = try #require(ids(" файл").last)
        // Each name, spelled as the text spells it, after a space, and
        // with a suffix after it; the answer may end after a whole name.
        for name in ["Warzone", "MATE", "rc.xml", "Firefox"] {
            let after = walk(" \(name)", from: walk("Бу"))
            #expect(after.open.isEmpty && spelling.allows(end, after: after), "\(name)")
            _ = walk("ны", from: after)
        }
        _ = walk(" (MATE)")
        // After a whole name, no token with a Latin letter goes on with the
        // word ("Warzonezone"); a space and another name may come.
        let warzone = walk(" Warzone")
        for id in spelling.copyable.ids where ScriptSpelling.isWordByte(tt.tokenizer.piece(id).first ?? 0x20) {
            #expect(!spelling.allows(id, after: warzone), "'\(piece(id))' after Warzone")
        }
        _ = walk(" MATE", from: warzone)
        // Inside a name, only what goes on with it: no word, space or end.
        let begun = walk(" War")
        #expect(!begun.open.isEmpty)
        #expect(!spelling.allows(end, after: begun) && !spelling.allows(cyrillicWord, after: begun))
        let goesOn = (0..<Int32(tt.vocabulary.count)).filter { spelling.allows($0, after: begun) }
        #expect(!goesOn.isEmpty)
        for id in goesOn {
            let p = piece(id)
            #expect("zone".hasPrefix(p) || (p.hasPrefix("zone") && !ScriptSpelling.isWordByte(Array(p.utf8)[4])), "'\(p)' after War")
        }
        // Not glued to a word of the answer's own letters ("средыATE").
        let cyrillic = walk(" среды")
        for id in spelling.copyable.ids where ScriptSpelling.isWordByte(tt.tokenizer.piece(id).first ?? 0x20) {
            #expect(!spelling.allows(id, after: cyrillic), "'\(piece(id))' after среды")
        }
        // The same after a word longer than any name (a walk keeps only its end).
        let long = walk(" тоташтырылмаганлыкларыбыздан")
        #expect(long.cut)
        for id in spelling.copyable.ids where ScriptSpelling.isWordByte(tt.tokenizer.piece(id).first ?? 0x20) {
            #expect(!spelling.allows(id, after: long), "'\(piece(id))' after a long word")
        }
        #expect(walk(" MATE", from: long).open.isEmpty)
        // Outside names, Cyrillic words, digits and punctuation are free.
        for id in ids(" 2100, бүген «яхшы»!") { #expect(spelling.allows(id, after: warzone)) }
        // Byte pieces spell Cyrillic letters ("а": D0 B0), and a name's
        // ("ü" of "Müller": C3 BC), but no other letter ("놑": EB 86 91).
        func byte(_ b: UInt8) throws -> Int32 { try #require(tt.vocabulary.id(of: String(format: "<0x%02X>", b))) }
        let müller = ScriptSpelling(names: ["Müller"], script: .cyrillic, head: tt)
        for (rule, bytes, last) in [(spelling, [0xD0, 0xB0], true), (müller, [0xC3, 0xBC], true),
                                    (spelling, [0xC3, 0xBC], false), (spelling, [0xEB, 0x86, 0x91], false)] as [(ScriptSpelling, [UInt8], Bool)] {
            var w = rule.walked(SpellingWalk(), by: ids(" Бу").last!)
            for b in bytes.dropLast() {
                #expect(rule.allows(try byte(b), after: w))
                w = rule.walked(w, by: try byte(b))
            }
            #expect(w.need == 1)
            #expect(rule.allows(try byte(bytes.last!), after: w) == last, "\(bytes)")
        }
    }

    @Test("ISO 15924 codes name ICU's scripts")
    func scriptNames() {
        #expect(Script(iso15924: "Cyrl") == .cyrillic)
        #expect(Script(iso15924: "latn") == .latin)
        #expect(Script(iso15924: "Hani") == .han)
        #expect(Script(iso15924: "Nope") == nil)
    }

    @Test("the sampler never picks a banned token")
    func sampler() {
        let logits: [Float] = [1, 5, 3, 5, -2]
        logits.withUnsafeBufferPointer { l in
            #expect(Sampler().pick(l) == 1)                               // lowest id of a tie
            #expect(Sampler(banned: TokenMask([1])).pick(l) == 3)
            #expect(Sampler(banned: TokenMask([1, 3])).pick(l) == 2)
            #expect(Sampler(banned: TokenMask([0, 1, 2, 3])).pick(l) == 4)
        }
        let dead = [Float](repeating: -.infinity, count: 3)
        dead.withUnsafeBufferPointer { #expect(Sampler(banned: TokenMask([0])).pick($0) == 1) }
        var mask = TokenMask([200, 3, 64, 3])
        #expect(mask.count == 3)
        #expect(mask.ids == [3, 64, 200])
        #expect(!mask.contains(63) && !mask.contains(-1) && !mask.contains(100_000))
        mask.insert(63)
        #expect(mask.contains(63))
    }

    @Test("the Tatar head's vocabulary under a Cyrillic lock")
    func tatarVocabulary() throws {
        let tok = try Tokenizer(gguf: try GGUFFile(path: Self.tatarHead))
        let v = tok.vocabulary
        let banned = ScriptLock.bannedTokens(tok, keeping: .cyrillic)
        func ids(_ s: String) -> [Int32] { tok.tokenize(s, addSpecial: false, parseSpecial: false) }
        // Every piece of an English word has Latin letters.
        let firefox = ids(" Firefox")
        #expect(!firefox.isEmpty)
        for id in firefox where tok.piece(id) != Array(" ".utf8) {
            #expect(banned.contains(id), "'\(v.tokens[Int(id)])'")
        }
        for id in ids(" Рәхмәт, бүген һава яхшы.") + ids(" 2024-12-31 (100%) «» !?") {
            #expect(!banned.contains(id), "'\(v.tokens[Int(id)])'")
        }
        // The end tokens stay pickable.
        for id in [v.eos, v.eot].compactMap({ $0 }) + Array(v.endOfGeneration) {
            #expect(!banned.contains(id))
        }
        let endOfTurn = try #require(v.id(of: "<end_of_turn>"))
        #expect(!banned.contains(endOfTurn))
        // Byte tokens: ASCII letters are banned, ASCII punctuation and
        // non-ASCII bytes (pieces of Cyrillic letters) are not.
        #expect(banned.contains(try #require(v.id(of: "<0x41>"))))
        #expect(banned.contains(try #require(v.id(of: "<0x7A>"))))
        #expect(!banned.contains(try #require(v.id(of: "<0x2E>"))))
        #expect(!banned.contains(try #require(v.id(of: "<0xD0>"))))
        #expect(!banned.contains(try #require(v.id(of: "<0xB0>"))))
        // A Cyrillic vocabulary with a few Latin tokens (from the corpus).
        #expect(banned.count > 0 && banned.count < v.count / 4, "\(banned.count) of \(v.count)")
        // Translating a text that names Firefox, its pieces are free again,
        // and no other Latin token is.
        let naming = ScriptLock.copyable(tok, among: banned, names: ["Firefox"])
        for id in firefox where tok.piece(id) != Array(" ".utf8) { #expect(naming.contains(id), "'\(v.tokens[Int(id)])'") }
        for id in naming {
            let piece = String(decoding: tok.piece(id), as: UTF8.self).trimmingCharacters(in: .whitespaces)
            #expect("Firefox".contains(piece), "'\(piece)'")
        }
        // (The head splits most English words into letters, and a name's
        // letters are free as well; words of other letters stay banned.)
        for id in ids(" much luck") where tok.piece(id) != Array(" ".utf8) {
            #expect(banned.contains(id) && !naming.contains(id), "'\(v.tokens[Int(id)])'")
        }
        #expect(ScriptLock.copyable(tok, among: banned, names: []).isEmpty)
        // Under a Latin lock the Cyrillic word is banned instead.
        let latin = ScriptLock.bannedTokens(tok, keeping: .latin)
        #expect(ids(" Рәхмәт").contains { latin.contains($0) })
    }

    @Test("the 262k Gemma vocabulary takes a fraction of a second, once per head")
    func gemmaVocabularySpeed() throws {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 256, batchSize: 64,
                                   pool: ThreadPool(threads: 1))
        let head = hydra.native
        let clock = ContinuousClock()
        var mask = TokenMask()
        let first = clock.measure { mask = head.bannedTokens(keeping: .cyrillic) }
        let again = clock.measure { _ = head.bannedTokens(keeping: .cyrillic) }
        print("script lock: \(mask.count) of \(head.vocabulary.count) Gemma tokens banned for Cyrl in \(first); cached \(again)")
        #expect(first < .milliseconds(500), "\(first)")
        #expect(again < .milliseconds(5), "\(again)")
        let v = head.vocabulary
        #expect(mask.contains(try #require(v.id(of: "▁the"))))
        #expect(!mask.contains(try #require(v.id(of: "▁и"))))
        #expect(!mask.contains(try #require(v.id(of: "<end_of_turn>"))))
        #expect(!mask.contains(try #require(v.eos)))
        #expect(mask.count > 50_000, "\(mask.count)")
    }

    @Test("modes: auto locks head files that declare a script, not the native head")
    func modes() throws {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 256, batchSize: 64,
                                   pool: ThreadPool(threads: 1))
        let tt = try hydra.heads.load(path: Self.tatarHead, catalog: HeadCatalog(directories: []))
        let tatar = try Language.named("tt"), japanese = try Language.named("ja")
        #expect(ScriptLock.script(mode: .auto, head: tt, target: tatar) == .cyrillic)
        #expect(ScriptLock.script(mode: .auto, head: hydra.native, target: tatar) == nil)
        #expect(ScriptLock.script(mode: .on, head: hydra.native, target: tatar) == .cyrillic)
        #expect(ScriptLock.script(mode: .on, head: hydra.native, target: japanese) == nil)
        #expect(ScriptLock.script(mode: .off, head: tt, target: tatar) == nil)
    }

    /// What the lock must do, whatever arithmetic the CPU gives (the
    /// unlocked text differs between AVX2 and AVX-512): the locked text has
    /// no letter of another script but in whole `names` that begin a word
    /// (`ScriptSpelling`), and it is the unlocked text up to the piece where
    /// the unlocked decoding first wrote a letter of another script (greedy
    /// decoding under a mask only changes where the best token is masked
    /// out); with none anywhere the two are equal.
    static func checkLock(free: [String], locked: [String], names: [String] = [],
                          sourceLocation: SourceLocation = #_sourceLocation) {
        func foreign(_ s: String) -> Bool { ScriptLock.hasForeignLetter(Array(s.utf8), keeping: .cyrillic) }
        let freeText = free.joined(), lockedText = locked.joined()
        #expect(!foreign(Self.withoutNames(lockedText, names)), "locked: \(lockedText)", sourceLocation: sourceLocation)
        #expect(!lockedText.isEmpty, sourceLocation: sourceLocation)
        if let first = free.firstIndex(where: foreign) {
            let agreed = free[..<first].joined()
            #expect(lockedText.hasPrefix(agreed), "free: \(freeText) locked: \(lockedText)", sourceLocation: sourceLocation)
        } else {
            #expect(lockedText == freeText, "free: \(freeText) locked: \(lockedText)", sourceLocation: sourceLocation)
        }
    }

    /// `text` with each of `names` taken out where it begins a word (after
    /// a space, punctuation or the start): what is left of a locked answer
    /// must have no letter of another script.
    static func withoutNames(_ text: String, _ names: [String]) -> String {
        var out = Array(text.utf8)
        for name in names.sorted(by: { $0.utf8.count > $1.utf8.count }) {
            let n = Array(name.utf8)
            var i = 0
            while i + n.count <= out.count {
                if Array(out[i..<i + n.count]) == n && (i == 0 || !ScriptSpelling.isWordByte(out[i - 1])) {
                    out.replaceSubrange(i..<i + n.count, with: [UInt8(ascii: " ")])
                }
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// In-process translations through the Tatar head, as the pieces that
    /// were streamed.
    static func pieces(_ sentence: String, _ mode: ScriptLock.Mode) throws -> [String] {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 512, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        try hydra.heads.load(path: Self.tatarHead, catalog: HeadCatalog(directories: []))
        let translator = try Translator(model: hydra)
        translator.scriptLock = mode
        var out: [String] = []
        try translator.translate(sentence, from: try Language.named("en"), to: try Language.named("tt")) {
            out.append($0)
            return true
        }
        return out
    }

    @Test("through the Tatar head, the lock keeps Latin letters out of the translation but for the text's names")
    func tatarTranslation() throws {
        for sentence in Self.sentences {
            let free = try Self.pieces(sentence, .off)
            let locked = try Self.pieces(sentence, .auto)
            print("script lock: \(sentence) → free \(free.joined()) | locked \(locked.joined())")
            let names = ScriptLock.names(in: sentence)
            Self.checkLock(free: free, locked: locked, names: names)
            let words = locked.joined().split(separator: " ").filter { w in !names.contains { w.contains($0) } }.joined(separator: " ")
            if let script = Script.dominant(in: words) { #expect(script == .cyrillic, "\(locked.joined())") }
            #expect(try Self.pieces(sentence, .on) == locked)
        }
    }

    /// The lock put to work whatever the CPU computes: decode freely
    /// through the Tatar head, take the script of the first letter it
    /// writes, lock to another script, and decode again. The locked run
    /// must follow the free one token for token up to that letter's token,
    /// leave it there, and never pick a banned token.
    @Test("a lock that bans the free decoding's first letter changes it there and nowhere before")
    func lockAtFirstLetter() throws {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 512, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let tt = try hydra.heads.load(path: Self.tatarHead, catalog: HeadCatalog(directories: []))
        let translator = try Translator(model: hydra)
        let prompt = TranslationPrompt(source: try Language.named("en"), target: try Language.named("tt"))
        let ids = translator.promptIds(Self.sentences[0], prompt: prompt).map { HeadToken(hydra.native, $0) }
        func run(_ sampler: Sampler) throws -> [Int32] {
            var out: [Int32] = []
            try hydra.decode(prompt: ids, target: tt, maxTokens: 24, sampler: sampler) { out.append($0); return true }
            return out
        }
        let free = try run(Sampler())
        func script(_ id: Int32) -> Script? {
            String(decoding: tt.tokenizer.piece(id), as: UTF8.self).unicodeScalars.lazy
                .compactMap { $0.properties.isAlphabetic ? Script.of($0) : nil }
                .first { $0 != .common && $0 != .inherited }
        }
        let first = try #require(free.firstIndex { script($0) != nil }, "no letter in \(free)")
        let lockTo: Script = script(free[first]) == .latin ? .cyrillic : .latin
        let banned = tt.bannedTokens(keeping: lockTo)
        #expect(banned.contains(free[first]))
        let locked = try run(Sampler(banned: banned))
        #expect(Array(locked.prefix(first)) == Array(free.prefix(first)))
        #expect(locked.count > first && locked[first] != free[first])
        #expect(!locked.contains { banned.contains($0) }, "\(locked)")
    }

    @Test("hydra translate --script-lock / --no-script-lock, in process and through the daemon")
    func commandLine() throws {
        let model = TestModels.path("gemma3-270m")
        let sentence = Self.sentences[0]
        let common = ["--model", model, "--from", "en", "--to", "tt", "--head", Self.tatarHead]
        let locked = try CLI.run(["translate", "--no-daemon"] + common + [sentence])
        let free = try CLI.run(["translate", "--no-daemon", "--no-script-lock"] + common + [sentence])
        #expect(locked.status == 0 && free.status == 0, "\(locked.stderr) \(free.stderr)")
        // The command prints what the library computes, lock or no lock.
        #expect(locked.stdout == (try Self.pieces(sentence, .auto)).joined() + "\n")
        #expect(free.stdout == (try Self.pieces(sentence, .off)).joined() + "\n")
        #expect(!Self.hasLatin(locked.stdout) && !locked.stdout.isEmpty, "\(locked.stdout)")

        let daemon = try TestDaemon(model: "gemma3-270m")
        defer { daemon.stop() }
        let client = try daemon.client()
        let viaDaemon = try client.translate(TranslateParams(text: sentence, from: "en", to: "tt", heads: [Self.tatarHead]))
        let freeViaDaemon = try client.translate(TranslateParams(text: sentence, from: "en", to: "tt",
                                                                 heads: [Self.tatarHead], scriptLock: false))
        #expect(viaDaemon.text + "\n" == locked.stdout)
        #expect(freeViaDaemon.text + "\n" == free.stdout)
        let cli = try CLI.run(["translate", "--no-script-lock"] + common + [sentence], env: daemon.environment)
        #expect(cli.stdout == free.stdout, "\(cli.stderr)")
    }

    @Test("the protocol's script_lock parameter")
    func protocolParameter() throws {
        let d = RPCCoding.decoder()
        let off = try d.decode(TranslateParams.self, from: Data(#"{"text":"a","from":"en","to":"tt","script_lock":false}"#.utf8))
        #expect(off.scriptLock == false)
        let none = try d.decode(TranslateParams.self, from: Data(#"{"text":"a","from":"en","to":"tt"}"#.utf8))
        #expect(none.scriptLock == nil)
    }
}
