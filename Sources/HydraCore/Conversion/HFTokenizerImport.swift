import Foundation

/// Reads a Hugging Face byte-level BPE tokenizer (`tokenizer.json`,
/// `tokenizer_config.json`, `config.json`) into the GGUF tokenizer keys
/// llama.cpp's converter writes for it (`_set_vocab_gpt2` and gguf-py's
/// `SpecialVocab`): tokens padded to the model's vocabulary size, token
/// types, merges, the pre-tokenizer name, special token ids, add_bos/add_eos
/// and the chat template.
enum HFTokenizerImport {
    static func bytePair(directory: String, vocabularySize: Int?, config: [String: Any]) throws -> TokenizerMetadata {
        let path = directory + "/tokenizer.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(directory): no tokenizer.json (hydra converts byte-level BPE tokenizers from tokenizer.json)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = json["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any] else {
            throw CheckpointError("\(path): not a tokenizer.json with a model vocabulary")
        }
        guard (model["type"] as? String) == "BPE" else {
            throw CheckpointError("\(path): tokenizer model '\(model["type"] ?? "?")' is not BPE")
        }
        var reverse: [Int: String] = [:]
        for (token, id) in vocab {
            guard let i = (id as? NSNumber)?.intValue, i >= 0 else { throw CheckpointError("\(path): bad id for '\(token)'") }
            reverse[i] = token
        }
        let addedList = json["added_tokens"] as? [[String: Any]] ?? []
        var added: [Int: (content: String, special: Bool)] = [:]
        for a in addedList {
            guard let id = (a["id"] as? NSNumber)?.intValue, let content = a["content"] as? String else { continue }
            added[id] = (content, (a["special"] as? Bool) ?? false)
            reverse[id] = content
        }
        let addedContents = Set(added.values.map(\.content))
        let maxID = reverse.keys.max() ?? -1
        let count = vocabularySize ?? (maxID + 1)
        guard maxID < count else {
            throw CheckpointError("\(path): token id \(maxID) is not below the vocabulary size \(count)")
        }
        var tokens: [String] = []
        var types: [Int32] = []
        tokens.reserveCapacity(count)
        for i in 0..<count {
            guard let token = reverse[i] else {
                tokens.append("[PAD\(i)]")
                types.append(5)  // unused
                continue
            }
            if addedContents.contains(token), let a = added[i] ?? added.first(where: { $0.value.content == token })?.value {
                if a.special || looksSpecial(token) {
                    tokens.append(token)
                    types.append(3)  // control
                } else {
                    tokens.append(token.replacingOccurrences(of: "\u{2581}", with: " "))
                    types.append(4)  // user-defined
                }
            } else {
                tokens.append(token)
                types.append(1)  // normal
            }
        }

        // Merges: "a b" strings, or pairs (spaces inside encoded as U+0120 + 256).
        var merges: [String] = []
        if let m = model["merges"] as? [String] {
            merges = m
        } else if let m = model["merges"] as? [[String]] {
            merges = m.map { pair in
                pair.map { part in String(String.UnicodeScalarView(part.unicodeScalars.map {
                    $0 == " " ? Unicode.Scalar(0x20 + 256)! : $0 })) }.joined(separator: " ")
            }
        }
        guard !merges.isEmpty else { throw CheckpointError("\(path): no BPE merges") }

        let special = try specialVocabulary(directory: directory, tokenizer: json, config: config, vocabularySize: count)
        let pre = try preTokenizerName(tokens: tokens, types: types, merges: merges, special: special)

        var e: [(key: String, value: GGUFValue)] = []
        e.append(("tokenizer.ggml.model", .string("gpt2")))
        e.append(("tokenizer.ggml.pre", .string(pre)))
        e.append(("tokenizer.ggml.tokens", .array(.strings(tokens))))
        e.append(("tokenizer.ggml.token_type", .array(.int32s(types))))
        e.append(("tokenizer.ggml.merges", .array(.strings(merges))))
        e += specialEntries(special)
        return TokenizerMetadata(entries: e)
    }

    /// gguf-py's `SpecialVocab.add_to_gguf`: special token ids, add_bos/add_eos, chat template.
    static func specialEntries(_ special: Special) -> [(key: String, value: GGUFValue)] {
        var e: [(key: String, value: GGUFValue)] = []
        // gguf-py's key names (sic "seperator").
        let keyNames = ["unk": "unknown", "pad": "padding", "sep": "seperator"]
        for (kind, id) in special.ids { e.append(("tokenizer.ggml.\(keyNames[kind] ?? kind)_token_id", .uint32(UInt32(id)))) }
        for (kind, flag) in special.add { e.append(("tokenizer.ggml.add_\(kind)_token", .bool(flag))) }
        if let t = special.chatTemplate { e.append(("tokenizer.chat_template", .string(t))) }
        return e
    }

    /// `does_token_look_special` of the converter.
    static func looksSpecial(_ t: String) -> Bool {
        if ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t) { return true }
        if t.hasPrefix("<|") && t.hasSuffix("|>") { return true }
        if t.hasPrefix("<\u{FF5C}") && t.hasSuffix("\u{FF5C}>") { return true }
        if t.hasPrefix("<unused") && t.hasSuffix(">") { return true }
        return false
    }

    struct Special {
        /// (kind, id) in the converter's order: bos, eos, unk, sep, pad, cls, mask (then eot/eom).
        var ids: [(String, Int)] = []
        var add: [(String, Bool)] = []
        var chatTemplate: String?
        func id(_ kind: String) -> Int? { ids.first { $0.0 == kind }?.1 }
        func adds(_ kind: String) -> Bool? { add.first { $0.0 == kind }?.1 }
    }

    /// gguf-py's SpecialVocab for a tokenizer.json: the post-processor's
    /// added tokens, tokenizer_config.json's tokens, then config.json's ids.
    static func specialVocabulary(directory: String, tokenizer: [String: Any], config: [String: Any],
                                  vocabularySize: Int) throws -> Special {
        var s = Special()
        var kinds = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
        var tc = FileManager.default.contents(atPath: directory + "/tokenizer_config.json")
            .flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
        let addedTokens = tokenizer["added_tokens"] as? [[String: Any]] ?? []
        func content(_ v: Any?) -> String? {
            if let s = v as? String { return s }
            if let d = v as? [String: Any] { return d["content"] as? String }
            return nil
        }
        var add: [String: Bool] = [:]
        var addOrder: [String] = []
        func setAdd(_ k: String, _ v: Bool, overwrite: Bool) {
            if add[k] == nil { addOrder.append(k) } else if !overwrite { return }
            add[k] = v
        }
        var bos = content(tc?["bos_token"])
        var eos = content(tc?["eos_token"])
        let cls = content(tc?["cls_token"])
        let sep = content(tc?["sep_token"])
        if bos == nil, let cls, tc != nil { tc?["bos_token"] = cls; bos = cls }
        if eos == nil, let sep, tc != nil { tc?["eos_token"] = sep; eos = sep }
        if let pp = tokenizer["post_processor"] as? [String: Any] {
            let processors = pp["processors"] as? [[String: Any]] ?? [pp]
            for p in processors {
                switch p["type"] as? String {
                case "ByteLevel":
                    setAdd("bos", false, overwrite: false)
                    setAdd("eos", false, overwrite: false)
                case "RobertaProcessing":
                    setAdd("bos", true, overwrite: true)
                    setAdd("eos", true, overwrite: true)
                    setAdd("sep", true, overwrite: true)
                case "TemplateProcessing":
                    let single = p["single"] as? [[String: Any]] ?? []
                    if single.count > 1 {
                        if let first = (single.first?["SpecialToken"] as? [String: Any])?["id"] as? String {
                            if tc == nil { bos = first } else if first != bos && first != cls {
                                if bos == nil { tc?["bos_token"] = first; bos = first }
                            }
                            setAdd("bos", first == bos || first == cls, overwrite: true)
                        }
                        if let last = (single.last?["SpecialToken"] as? [String: Any])?["id"] as? String {
                            if tc == nil { eos = last } else if last != eos {
                                if !kinds.contains("eot") { kinds.append("eot"); tc?["eot_token"] = eos }
                                else if !kinds.contains("eom") { kinds.append("eom"); tc?["eom_token"] = eos }
                                tc?["eos_token"] = last; eos = last
                            }
                            setAdd("eos", last == eos, overwrite: true)
                        }
                    }
                default:
                    break
                }
            }
        }
        func setID(_ kind: String, _ id: Int?) {
            guard let id, id >= 0, id < vocabularySize, s.id(kind) == nil else { return }
            s.ids.append((kind, id))
        }
        if let tc {
            if let t = tc["chat_template"] as? String {
                s.chatTemplate = t
            } else if let t = try? String(contentsOfFile: directory + "/chat_template.jinja", encoding: .utf8) {
                s.chatTemplate = t
            }
            for kind in kinds {
                if let flag = tc["add_\(kind)_token"] as? Bool { setAdd(kind, flag, overwrite: false) }
                guard let c = content(tc["\(kind)_token"]) else { continue }
                if let a = addedTokens.first(where: { ($0["content"] as? String) == c }), let id = (a["id"] as? NSNumber)?.intValue {
                    setID(kind, id)
                }
            }
        }
        for kind in kinds {
            setID(kind, (config["\(kind)_token_id"] as? NSNumber)?.intValue)
        }
        s.add = addOrder.map { ($0, add[$0]!) }
        return s
    }

    /// The converter's pre-tokenizer name: the hash of the check text's ids
    /// as the Hugging Face tokenizer encodes it (with its special tokens),
    /// here reproduced by each pre-tokenizer hydra implements in turn.
    static func preTokenizerName(tokens: [String], types: [Int32], merges: [String], special: Special) throws -> String {
        let text = PreTokenizerHashes.checkText
        for name in PreTokenizerHashes.candidates {
            let ids: Vocabulary.SpecialIDs = Vocabulary.SpecialIDs(bos: special.id("bos"), eos: special.id("eos"),
                                                                   unk: special.id("unk"), pad: special.id("pad"))
            guard let v = try? Vocabulary(model: "gpt2", pre: name, tokens: tokens, tokenTypes: types.map(Int.init),
                                          merges: merges, special: ids, addBOS: special.adds("bos") ?? false,
                                          addEOS: special.adds("eos") ?? false) else { continue }
            let encoded = Tokenizer(vocabulary: v).tokenize(text, addSpecial: true, parseSpecial: false)
            let printed = "[" + encoded.map(String.init).joined(separator: ", ") + "]"
            if let found = PreTokenizerHashes.names[SHA256.hex(Array(printed.utf8))] { return found }
        }
        throw CheckpointError("the BPE pre-tokenizer was not recognized: none of hydra's pre-tokenizers gives a hash that llama.cpp's converter knows")
    }
}
