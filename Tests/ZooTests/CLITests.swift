import Foundation
import Testing

@Suite("zoo command line")
struct CLITests {
  @Test func listShowsEveryModel() throws {
    let r = try runZoo(["list"])
    #expect(r.status == 0)
    #expect(r.out.contains("resnet50") && r.out.contains("25,557,032") && r.out.contains("4,089,184,256"))
    #expect(r.out.split(separator: "\n").count == 58 + 2)
  }

  @Test func describeJSONSchema() throws {
    let r = try runZoo(["describe", "resnet18", "--json"], cwd: URL(fileURLWithPath: "/tmp"))
    #expect(r.status == 0, "\(r.err)")
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    for key in ["model", "input", "output", "totals", "layers", "tensors"] {
      #expect(doc[key] != nil, "missing key \(key)")
    }
    #expect(doc["input"] as? [Int] == [3, 224, 224])
    #expect(doc["output"] as? [Int] == [1000])
    let totals = try #require(doc["totals"] as? [String: Any])
    #expect(totals["params"] as? Int == 11_689_512)
    #expect(totals["trainable_params"] as? Int == 11_689_512)
    #expect(totals["macs"] as? Int == 1_814_073_344)
    let layers = try #require(doc["layers"] as? [[String: Any]])
    let conv1 = try #require(layers.first { $0["name"] as? String == "layer1.0.conv1" })
    #expect(conv1["op"] as? String == "conv" && conv1["output"] as? [Int] == [64, 56, 56])
    #expect(layers.contains { $0["name"] as? String == "layer4" })
    let tensors = try #require(doc["tensors"] as? [[String: Any]])
    #expect(tensors.contains { $0["name"] as? String == "bn1.running_var" && $0["kind"] as? String == "buffer" })
  }

  @Test func describeTableHasThousandsSeparatorsAndTotals() throws {
    let r = try runZoo(["describe", "alexnet_original", "--depth", "1"])
    #expect(r.status == 0)
    #expect(r.out.contains("Params:         60,965,224"))
    #expect(r.out.contains("MACs:           724,406,816"))
    #expect(r.out.contains("fc6") && r.out.contains("37,752,832"))
  }

  @Test func describeAUserFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("my_net.yaml")
    try
      "input: [1, 28, 28]\nnetwork:\n  - {conv: 8, kernel: 3}\n  - relu\n  - flatten\n  - {linear: 10}\nmodels: {my_net: {}}\n"
      .write(to: file, atomically: true, encoding: .utf8)
    let r = try runZoo(["describe", file.path, "--json"])
    #expect(r.status == 0, "\(r.err)")
    let expected: Int = (8 * 9 + 8) + (8 * 26 * 26 * 10 + 10)
    #expect(r.out.contains("\"params\" : \(expected)"))
  }

  @Test func badInputGivesOneClearErrorAndNonZeroExit() throws {
    let unknown = try runZoo(["describe", "resnet19"])
    #expect(unknown.status != 0)
    #expect(unknown.err.contains("`resnet19` is not in the zoo; did you mean `resnet18`"), "\(unknown.err)")
    let small = try runZoo(["describe", "vgg16", "--input", "3x16x16"])
    #expect(small.status != 0)
    #expect(small.err.contains("features.30"), "\(small.err)")
    let badInput = try runZoo(["describe", "vgg16", "--input", "3x16"])
    #expect(badInput.status != 0 && badInput.err.contains("CxHxW"))
    let missing = try runZoo(["describe", "/nonexistent/net.yaml"])
    #expect(missing.status != 0 && missing.err.contains("/nonexistent/net.yaml"))
    let overflow = try runZoo(["describe", "resnet18", "--input", "3x2000000000x2000000000", "--batch", "100000"])
    #expect(overflow.status != 0 && overflow.err.contains("overflows"), "\(overflow.err)")
  }

  /// What well-made command-line tools have taught people: a version, a did-you-mean for a misspelt
  /// command, model names in any case, only close names in suggestions, and status 1 for every user error.
  @Test func commandLineHabits() throws {
    let version = try runZoo(["--version"])
    #expect(version.status == 0 && version.out.split(separator: ".").count == 3, "\(version.out)")
    let typo = try runZoo(["descrbe", "resnet18"])
    #expect(typo.status == 1)
    #expect(typo.err.contains("`descrbe` is not a zoo command; did you mean `describe`?"), "\(typo.err)")
    let nonsense = try runZoo(["frobnicate"])
    #expect(nonsense.status == 1 && !nonsense.err.contains("did you mean"), "\(nonsense.err)")
    let camel = try runZoo(["describe", "ResNet50", "--json"])
    #expect(camel.status == 0, "\(camel.err)")
    #expect(camel.out.contains("\"params\" : 25557032"))
    #expect(try runZoo(["describe", "MobileNet-V2", "--depth", "1"]).status == 0)
    // Nothing close: no list of unrelated names.
    let far = try runZoo(["describe", "transformerxl"])
    #expect(far.status == 1 && far.err.contains("is not in the zoo") && !far.err.contains("did you mean"))
    // Usage errors exit 1 like every other user error (ArgumentParser alone exits 64).
    for args in [
      ["report", "nosuch"], ["describe", "resnet18", "--nosuch"], ["describe", "resnet18", "--input", "3x"],
    ] {
      let r = try runZoo(args)
      #expect(r.status == 1, "\(args.joined(separator: " ")) exits \(r.status)")
      #expect(!r.err.isEmpty)
    }
  }

  @Test func listFiltersByPatternAndFamily() throws {
    let resnets = try runZoo(["list", "ResNet1"])
    #expect(resnets.status == 0, "\(resnets.err)")
    let rows = resnets.out.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ")[0] }
    #expect(rows == ["resnet18", "resnet101", "resnet152"])
    let glob = try runZoo(["list", "vgg1?_bn", "--json"])
    let entries = try #require(try JSONSerialization.jsonObject(with: Data(glob.out.utf8)) as? [[String: Any]])
    #expect(entries.compactMap { $0["model"] as? String } == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"])
    #expect(entries.allSatisfy { $0["year"] as? Int == 2015 && ($0["paper"] as? String)?.contains("Simonyan") == true })
    let family = try runZoo(["list", "--family", "densenet"])
    #expect(family.out.contains("densenet201") && !family.out.contains("resnet"))
    let typo = try runZoo(["list", "--family", "densnet"])
    #expect(typo.status == 1 && typo.err.contains("did you mean `DenseNet`"), "\(typo.err)")
    let none = try runZoo(["list", "transformer"])
    #expect(none.status == 1 && none.err.contains("no model matches `transformer`"))
    // The glob rule: `*` any run, `?` one character, plain text a substring, any case.
    let cases: [(String, [String])] = [
      ("res*50", ["resnet50"]), ("*res*50*", ["resnet50", "resnext50_32x4d", "wide_resnet50_2", "fcn_resnet50"]),
      ("?lexnet", ["alexnet"]),
      ("alexnet?", []), ("LENET5*", ["lenet5", "lenet5_original"]),
    ]
    for (pattern, expected) in cases {
      let r = try runZoo(["list", pattern, "--json"])
      let got = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])?.compactMap {
        $0["model"] as? String
      }
      #expect((got ?? []) == expected, "`\(pattern)` lists \(got ?? [])")
    }
  }

  /// `zoo show` prints a file that reads back to the same model; `--args` lists what it takes.
  @Test func showAndArgs() throws {
    let shown = try runZoo(["show", "resnet50"])
    #expect(shown.status == 0 && shown.out.hasPrefix("# zoo/resnet.yaml: the built-in definition of resnet50."))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-show-\(getpid()).yaml")
    defer { try? FileManager.default.removeItem(at: file) }
    try shown.out.write(to: file, atomically: true, encoding: .utf8)
    let back = try runZoo(["describe", "\(file.path):resnet50", "--json"])
    #expect(back.out.contains("\"params\" : 25557032"), "\(back.err)")
    for line in shown.out.split(separator: "\n") where line.hasPrefix("#") {
      #expect(line.count <= 100, "a header line of \(line.count) columns")
    }
    let args = try runZoo(["describe", "googlenet", "--args"])
    #expect(args.status == 0)
    #expect(args.out.contains("aux_logits   false  the default"), "\(args.out)")
    let r50 = try runZoo(["describe", "resnet50", "--args"])
    #expect(r50.out.contains("layers           [3, 4, 6, 3]        the model"), "\(r50.out)")
    #expect(try runZoo(["show", "resnet19"]).err.contains("did you mean `resnet18`"))
  }

  /// One vocabulary: `--input` is a shape and `--arg` an override in every command that takes them.
  @Test func inputAndArgMeanTheSameEverywhere() throws {
    let bench = try runZoo(["bench", "resnet18", "--input", "3x64x64", "--iterations", "1", "--warmup", "0", "--json"])
    #expect(bench.status == 0, "\(bench.err)")
    let small = try runZoo(["describe", "resnet18", "--input", "3x64x64", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(small.out.utf8)) as? [String: Any])
    let macs = try #require((doc["totals"] as? [String: Any])?["macs"] as? Int)
    #expect(bench.out.contains("\"macs\" : \(macs)"), "bench at 64×64 counts \(macs) MACs")
    let compare = try runZoo(["compare", "resnet18", "resnet50", "--arg", "num_classes=10", "--json"])
    #expect(compare.status == 0, "\(compare.err)")
    // 512·10 + 10 and 2048·10 + 10 fc parameters instead of 513,000 and 2,049,000.
    #expect(compare.out.contains("\"params\" : \(11_689_512 - 513_000 + 5_130)"))
    #expect(compare.out.contains("\"params\" : \(25_557_032 - 2_049_000 + 20_490)"))
  }

  /// Output follows the terminal's width (COLUMNS here): no line beyond it at 100 and 200 columns, and
  /// compare turns on its side when its models do not fit across.
  @Test func outputFitsTheWidth() throws {
    let commands: [[String]] = [
      ["describe", "densenet121"], ["describe", "resnet152", "--shares"], ["rf", "densenet121"],
      ["compare", "vgg16", "googlenet", "resnet50", "densenet121"], ["explain", "local", "--tile", "2"],
    ]
    for width in [60, 100, 200] {
      for args in commands + [["list"], ["describe", "lenet5", "--batch", "8"]] + (try Self.everyLesson()) {
        let r = try runZoo(args, environment: ["COLUMNS": "\(width)"])
        #expect(r.status == 0, "\(args): \(r.err)")
        for line in r.out.split(separator: "\n") where line.count > width {
          Issue.record("COLUMNS=\(width) zoo \(args.joined(separator: " ")): a line of \(line.count): \(line)")
        }
      }
    }
    let narrow = try runZoo(
      ["compare", "vgg16", "googlenet", "resnet50", "densenet121"], environment: ["COLUMNS": "100"])
    #expect(narrow.out.hasPrefix("Model ") && narrow.out.contains("googlenet     6.62 M ÷20.9"), "\(narrow.out)")
    let wide = try runZoo(
      ["compare", "vgg16", "googlenet", "resnet50", "densenet121"], environment: ["COLUMNS": "200"])
    #expect(wide.out.contains("Params") && wide.out.contains("6,624,904 (÷20.9)"), "\(wide.out)")
    // Ratios of 1,000 and more take thousands separators: LeNet-5 has 2,242 times fewer parameters than VGG-16.
    let far = try runZoo(["compare", "vgg16", "lenet5"])
    let bare = try Regex(#"[×÷][0-9]{4}"#)
    #expect(far.out.contains("÷2,242") && far.out.firstMatch(of: bare) == nil, "\(far.out)")
    // At 60 columns the numbers take units before anything is cut, and shapes stay whole where they fit.
    let sixty = try runZoo(["describe", "resnet18", "--depth", "1"], environment: ["COLUMNS": "60"])
    #expect(sixty.out.contains("11.69 M") && sixty.out.contains("512×7×7"), "\(sixty.out)")
    // Piped without COLUMNS: 100.
    let piped = try runZoo(["describe", "resnet18"], environment: ["COLUMNS": ""])
    #expect(
      piped.out.contains("  Training:       162,453,984 bytes (162.45 MB) = weights 46.76 MB + gradients 46.76 MB\n"))
  }

  /// A run of every `zoo explain` lesson `zoo explain --help` lists: the help's examples, and the
  /// defaults of the lessons that have them; a lesson missing here fails.
  static func everyLesson() throws -> [[String]] {
    let help = try runZoo(["explain", "--help"]).out
    // A subcommand's line: its name two spaces in, then at least two spaces before its abstract.
    let entry = try Regex(#"^  ([a-z]+)  +\S"#)
    let names = help.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n").compactMap { line in
      line.firstMatch(of: entry).map { _ in String(line.dropFirst(2).prefix { $0 != " " }) }
    }
    let runs: [[String]] = [
      ["size", "--input", "5", "--kernel", "3", "--padding", "1", "--stride", "2"],
      ["size", "--input", "224", "--kernel", "3", "--padding", "1", "--stride", "2", "--ceil"],
      ["conv", "--image", "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1", "--kernel", "1 1 1; 2 1 2; 3 2 1"],
      [
        "conv", "--image", "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1", "--kernel", "1 1 1; 2 1 2; 3 2 1", "--padding",
        "2",
      ],
      ["params", "--input", "3x32x32", "--filters", "6", "--kernel", "5"],
      ["params", "--input", "256x56x56", "--filters", "256", "--kernel", "3", "--padding", "1"],
      ["rf", "--kernels", "3,3,3"],
      ["rf", "--kernels", "7,3,3,3,3", "--strides", "2,2,1,2,1", "--dilations", "1,1,2,1,4"],
      ["transpose", "--stride", "2"], ["transpose"], ["unpool"], ["depthwise"],
      ["depthwise", "--input", "256x56x56", "--filters", "256", "--kernel", "3", "--no-bias"], ["gated"], ["local"],
      ["local", "--input", "16x63x63", "--filters", "16", "--kernel", "9", "--padding", "0", "--tile", "2"],
    ]
    #expect(Set(names) == Set(runs.map(\.[0])) && names.count == 9, "\(names)")
    return runs.map { ["explain"] + $0 }
  }

  /// Every lesson fits 60 columns: its tables take units, turn on their side or leave columns out with a
  /// note, and matrices that do not fit side by side are stacked.
  @Test func lessonsFitSixtyColumns() throws {
    let depthwise = try runZoo(["explain", "depthwise"], environment: ["COLUMNS": "60"])
    // Turned on its side, with units: the full layer's 590,080 parameters, and the ratios.
    #expect(depthwise.out.contains("\n  Full               590.08 k     1.85 G\n"), "\(depthwise.out)")
    #expect(depthwise.out.contains("\n  Full ÷ separable       8.63       8.69\n"), "\(depthwise.out)")
    let wide = try runZoo(["explain", "depthwise"], environment: ["COLUMNS": "200"])
    #expect(wide.out.contains("   Full ÷ separable\n  Params         590,080       2,560"), "\(wide.out)")
    // The window, kernel and products side by side at 100 columns, one under the other at 60.
    let image = ["--image", "1 2 3 4 5 6 7 8", "--kernel", "1 2 3 4 5 6 7 8"]
    let side = try runZoo(["explain", "conv"] + image)
    #expect(
      side.out.contains("\n  1 2 3 4 5 6 7 8   ⊙   1 2 3 4 5 6 7 8   =    1  4  9 16 25 36 49 64\n"), "\(side.out)")
    let stacked = try runZoo(["explain", "conv"] + image, environment: ["COLUMNS": "60"])
    #expect(
      stacked.out.contains("\n  1 2 3 4 5 6 7 8\n  ⊙\n  1 2 3 4 5 6 7 8\n  =\n   1  4  9 16 25 36 49 64\n"),
      "\(stacked.out)")
    #expect(stacked.out.split(separator: "\n").allSatisfy { $0.count <= 60 }, "\(stacked.out)")
  }

  /// Colour on request (a terminal, or CLICOLOR_FORCE) for headers, totals and warnings; never with
  /// NO_COLOR, and never when piped.
  @Test func colourFollowsTheConventions() throws {
    let esc = "\u{1B}["
    let piped = try runZoo(["describe", "resnet18", "--depth", "1"])
    #expect(!piped.out.contains(esc))
    let forced = try runZoo(["describe", "resnet18", "--depth", "1"], environment: ["CLICOLOR_FORCE": "1"])
    #expect(forced.out.contains("\(esc)1mLayer") && forced.out.contains("\(esc)1mParams:"), "\(forced.out)")
    let warned = try runZoo(["rf", "fcn8s", "--depth", "1"], environment: ["CLICOLOR_FORCE": "1"])
    #expect(warned.out.contains("\(esc)33mWarning:"), "\(warned.out)")
    let no = try runZoo(
      ["describe", "resnet18", "--depth", "1"], environment: ["CLICOLOR_FORCE": "1", "NO_COLOR": "1"])
    #expect(!no.out.contains(esc))
    #expect(no.out == piped.out)
  }

  /// Shell completions (ArgumentParser's scripts) complete model names and definition files: the
  /// script's call back into `zoo` answers with the names that start with the word typed.
  @Test func completionsOfferModelNamesAndFiles() throws {
    let script = try runZoo(["--generate-completion-script", "bash"])
    #expect(script.status == 0 && script.out.contains("---completion describe -- positional@0"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-complete-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try "family: X".write(to: dir.appendingPathComponent("resnet_mine.yaml"), atomically: true, encoding: .utf8)
    try "x".write(to: dir.appendingPathComponent("resnet_notes.txt"), atomically: true, encoding: .utf8)
    let r = try runZoo(
      ["---completion", "describe", "--", "positional@0", "2", "3", "zoo", "describe", "res"], cwd: dir)
    let words = r.out.split(separator: "\n").map(String.init)
    #expect(words.contains("resnet18") && words.contains("resnext50_32x4d"), "\(words)")
    #expect(words.contains("resnet_mine.yaml") && !words.contains("resnet_notes.txt"), "\(words)")
    #expect(!words.contains("vgg16"))
  }

  /// The committed man page (docs/man/zoo.1, scripts/make-manual.sh) has every command and every option
  /// the binary's help lists: a new option without a regenerated page fails here.
  @Test func manPageIsCurrent() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let page = try String(contentsOf: root.appendingPathComponent("docs/man/zoo.1"), encoding: .utf8)
    let commands = [
      ["list"], ["show"], ["describe"], ["compare"], ["rf"], ["render"], ["run"], ["export"], ["bench"], ["report"],
      ["check"],
      ["explain", "size"], ["explain", "conv"], ["explain", "params"], ["explain", "rf"], ["explain", "transpose"],
      ["explain", "unpool"], ["explain", "depthwise"], ["explain", "gated"], ["explain", "local"],
    ]
    var options = 0
    for command in commands {
      #expect(page.contains(".It Em \(command.last!)"), "zoo.1 lacks the command \(command.joined(separator: " "))")
      let help = try runZoo(["help"] + command)
      #expect(help.status == 0, "\(command): \(help.err)")
      for m in help.out.matches(of: /(?m)^\s+(?:-[a-zA-Z], )?--([a-z][a-z0-9-]*)/) where m.1 != "help" {
        #expect(page.contains("Fl -\(m.1)"), "zoo.1 lacks --\(m.1) of zoo \(command.joined(separator: " "))")
        options += 1
      }
    }
    #expect(options > 60, "only \(options) options found in the commands' help")
  }

  /// torchinfo's habits: trainable and non-trainable parameters always, columns on request (input
  /// shapes, a parameter share), and the batch in front of shapes when there is one.
  @Test func describeColumnsAndBatch() throws {
    let r = try runZoo([
      "describe", "lenet5_original", "--depth", "1", "--columns", "input,output,params,params-percent", "--batch", "8",
    ])
    #expect(r.status == 0, "\(r.err)")
    let lines = r.out.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.hasPrefix("Layer ") && $0.contains("Input") && $0.contains("Params %") })
    // C5: 16·5·5·120 + 120 = 48,120 of LeNet-5's 60,840 parameters (RBF weights fixed): 79.1 %.
    let c5 = try #require(lines.first { $0.hasPrefix("C5 ") })
    #expect(
      c5.contains("8×16×5×5") && c5.contains("8×120×1×1") && c5.contains("48,120") && c5.hasSuffix("79.1%"), "\(c5)")
    #expect(r.out.contains("— trainable 60,000, non-trainable 840"), "\(r.out)")
    let plain = try runZoo(["describe", "resnet18", "--depth", "1"])
    #expect(plain.out.contains("Params:         11,689,512 (11.69 M) — trainable 11,689,512, non-trainable 0"))
    let bad = try runZoo(["describe", "resnet18", "--columns", "params,flops"])
    #expect(bad.status == 1 && bad.err.contains("`flops` is not a column"))
  }

  /// A lone top-level wrapper (DenseNet's `features`) is opened at --depth 1, as in the gallery and
  /// `compare --by stage`; ResNet, with several stage modules, is unchanged.
  @Test func describeOpensALoneWrapper() throws {
    let dense = try runZoo(["describe", "densenet121", "--depth", "1"])
    #expect(dense.out.contains("  features.denseblock4 …  dense_block"), "\(dense.out)")
    #expect(!dense.out.contains("features.denseblock1.denselayer1"))
    #expect(!dense.out.contains("features …"))
    let resnet = try runZoo(["describe", "resnet18", "--depth", "1"])
    #expect(resnet.out.contains("layer1 …") && !resnet.out.contains("layer1.0"))
  }

  /// Runs of identical modules fold in the terminal as in the diagrams: ResNet-152's layer3 shows
  /// layer3.0, layer3.1 and one row for the 34 identical bottlenecks after them, with their summed figures.
  @Test func describeFoldsIdenticalRuns() throws {
    let r = try runZoo(["describe", "resnet152"])
    let lines = r.out.split(separator: "\n").map(String.init)
    #expect(lines.count < 200, "\(lines.count) lines")
    let one = try #require(lines.first { $0.hasPrefix("  layer3.1 ") })
    let run = try #require(lines.first { $0.hasPrefix("  layer3.2 … layer3.35 ") })
    #expect(run.contains("34 × bottleneck"))
    let params = { (line: String) in
      Int(line.matches(of: /[0-9][0-9,]{4,}/).first!.0.replacingOccurrences(of: ",", with: ""))!
    }
    #expect(params(run) == 34 * params(one), "\(run) against \(one)")
    #expect(!r.out.contains("layer3.35.conv1"))
    let all = try runZoo(["describe", "resnet152", "--expand"])
    #expect(all.out.contains("layer3.35.conv1") && !all.out.contains(" × bottleneck"))
  }

  @Test func auxiliaryClassifiersThroughArg() throws {
    let r = try runZoo(["describe", "googlenet", "--arg", "aux_logits=true", "--depth", "1"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("aux1") && r.out.contains("(+2 auxiliary)"))
    let bad = try runZoo(["describe", "googlenet", "--arg", "aux_logit=true"])
    #expect(bad.status != 0 && bad.err.contains("did you mean `aux_logits`"), "\(bad.err)")
  }
}
