import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// Builds the first model of a definition text, returning the error it raises.
func definitionError(_ text: String) -> DefinitionError? {
  do {
    let file = try DefinitionFile(path: "net.yaml", text: text)
    _ = try file.graph(named: nil)
    return nil
  } catch {
    return error
  }
}

@Suite("definition files: errors point at file:line:column")
struct DefinitionErrorTests {
  @Test func unknownOpSuggestsTheClosest() throws {
    let e = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        network:
          - {convv: 16, kernel: 3}
        models: {net: {}}
        """))
    #expect(e.line == 3 && e.column == 5)
    #expect(e.description.hasPrefix("net.yaml:3:5: unknown op or block `convv` — did you mean `conv`?"), "\(e)")
  }

  /// `links:` takes https addresses, one or a list; anything else points at the bad item.
  @Test func paperLinksAreAddresses() throws {
    let one = try DefinitionFile(
      path: "net.yaml",
      text: "links: https://arxiv.org/abs/1512.03385\ninput: [1, 8, 8]\nnetwork: [relu]\nmodels: {net: {}}")
    #expect(one.links == ["https://arxiv.org/abs/1512.03385"])
    let e = try #require(
      definitionError(
        """
        links: [https://arxiv.org/abs/1409.1556, ftp://example.org/paper]
        input: [3, 32, 32]
        network: [relu]
        models: {net: {}}
        """))
    #expect(e.line == 1 && e.column == 42, "\(e)")
    #expect(e.description.contains("each starting with https://"), "\(e)")
  }

  @Test func missingArgument() throws {
    let e = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        network:
          - conv: 16
        models: {net: {}}
        """))
    #expect(e.line == 3)
    #expect(e.message.contains("missing the argument `kernel`"), "\(e)")
  }

  @Test func wrongType() throws {
    let e = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        network:
          - {conv: 16, kernel: 2.5}
        models: {net: {}}
        """))
    #expect(e.message.contains("`kernel` must be an integer ≥ 1 or [height, width], got 2.5"), "\(e)")
  }

  @Test func unknownArgumentAndUnknownBlock() throws {
    let a = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        network:
          - {conv: 16, kernal: 3}
        models: {net: {}}
        """))
    #expect(a.message.contains("unknown argument `kernal` — did you mean `kernel`?"), "\(a)")
    #expect(a.line == 3)
    let b = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        blocks:
          stem: {body: [{conv: 8, kernel: 3}]}
        network:
          - stme
        models: {net: {}}
        """))
    #expect(b.message.contains("unknown op or block `stme` — did you mean `stem`?"), "\(b)")
    #expect(b.line == 5)
  }

  @Test func expressionErrorsQuoteTheExpression() throws {
    let e = try #require(
      definitionError(
        """
        input: [3, 32, 32]
        args: {width: 16}
        network:
          - {conv: widht * 2, kernel: 3}
        models: {net: {}}
        """))
    #expect(e.message.contains("in `widht * 2`: unknown name `widht` — did you mean `width`?"), "\(e)")
    #expect(e.line == 4 && e.column == 12)
  }

  @Test func yamlSyntaxError() throws {
    let e = try #require(definitionError("input: [3, 32, 32\nnetwork: [relu]\nmodels: {net: {}}\n"))
    #expect(e.message.hasPrefix("YAML syntax"), "\(e)")
  }

  @Test func duplicateKeysAndNames() throws {
    let a = try #require(definitionError("input: [1, 8, 8]\ninput: [1, 8, 8]\nnetwork: [relu]\nmodels: {net: {}}\n"))
    #expect(a.message == "duplicate key `input`" && a.line == 2)
    let b = try #require(
      definitionError(
        "input: [1, 8, 8]\nnetwork:\n  - {conv: 4, kernel: 3, name: c}\n  - {conv: 4, kernel: 3, name: c}\nmodels: {net: {}}\n"
      ))
    #expect(b.message == "duplicate layer name `c`" && b.line == 4, "\(b)")
  }

  @Test func shapeErrorsNameTheLayerAndValues() throws {
    let e = try #require(
      definitionError(
        """
        input: [3, 8, 8]
        network:
          - {conv: 16, kernel: 5, name: c1}
          - {conv: 16, kernel: 5, name: c2}
        models: {net: {}}
        """))
    #expect(e.line == 4)
    #expect(e.message.contains("layer `c2`: conv 5×5"), "\(e)")
    #expect(e.message.contains("on 16×4×4 gives an empty 0×0 output"), "\(e)")
  }

  @Test func groupsMustDivideChannels() throws {
    let e = try #require(
      definitionError("input: [6, 8, 8]\nnetwork: [{conv: 8, kernel: 1, groups: 4}]\nmodels: {net: {}}\n"))
    #expect(e.message.contains("groups = 4 must divide both the input channels (6)"), "\(e)")
  }

  @Test func hugeValuesAreErrorsNotTraps() throws {
    let a = try #require(
      definitionError("input: [3, 8, 8]\nnetwork: [{conv: 99999999999, kernel: 1}]\nmodels: {net: {}}\n"))
    #expect(a.message.contains("must be ≤ 2147483647"), "\(a)")
    let b = try #require(
      definitionError(
        "input: [3, 8, 8]\nargs: {n: 9223372036854775807}\nnetwork: [{conv: n + 1, kernel: 1}]\nmodels: {net: {}}\n"))
    #expect(b.message.contains("integer overflow"), "\(b)")
  }

  @Test func tooSmallInputNamesTheFirstEmptyLayer() throws {
    let g = try builtin("vgg16")
    #expect {
      _ = try Summary(g, input: [3, 16, 16])
    } throws: { error in
      let e = error as? AnalysisError
      return e?.layer == "features.30" && "\(error)".contains("gives an empty 0×0 output")
    }
  }

  @Test func countsThatOverflowAreErrors() throws {
    let g = try builtin("resnet18")
    #expect(throws: AnalysisError.self) {
      _ = try Summary(g, input: [3, 2_000_000_000, 2_000_000_000], batch: 1_000_000)
    }
  }

  @Test func wrongInputChannels() throws {
    #expect {
      _ = try Summary(try builtin("resnet18"), input: [1, 224, 224])
    } throws: { error in
      "\(error)".contains("layer `conv1`: conv expects 3 input channels, got 1")
    }
  }
}

@Suite("definition format features")
struct FormatFeatureTests {
  @Test func expressionsLoopsConditionsAndNames() throws {
    let file = try DefinitionFile(
      path: "toy.yaml",
      text: """
        input: [3, 16, 16]
        args: {widths: [8, 16], deep: true}
        blocks:
          unit:
            args: {out: ~, stride: 1}
            let: {mid: out // 2}
            body:
              - add:
                - - {conv: mid, kernel: 3, padding: 1, stride: stride, bias: false, name: a}
                  - {conv: out, kernel: 1, name: b}
                - - if: stride != 1 or channels != out
                    then: {conv: out, kernel: 1, stride: stride, name: proj}
              - relu
        network:
          - for: w
            in: widths
            body:
              - {unit: w, stride: 2 if w > 8 else 1, name: "unit{w}"}
          - if: deep
            then: [{repeat: 2, as: i, body: [{unit: [16], name: "extra{i + 1}"}]}]
          - {adaptive_avgpool: 1}
          - flatten
          - {linear: 10, name: head}
        models:
          toy: {}
          shallow: {deep: false}
        """)
    let g = try file.graph(named: "toy")
    let names = g.nodes.map(\.name)
    #expect(names.contains("unit8.proj") && names.contains("unit16.proj") && names.contains("extra2.b"))
    #expect(!names.contains("extra1.proj"), "no projection when stride is 1 and channels match")
    #expect(names.contains("unit8.add") && names.contains("unit8.relu"))
    let s = try Summary(g)
    #expect(s.output == [10])
    let a = try #require(g.nodes.first { $0.name == "unit16.a" })
    guard case .conv(let c) = a.op else {
      Issue.record("unit16.a is not a conv")
      return
    }
    #expect(c.inChannels == 8 && c.outChannels == 8 && c.stride == Pair(2))
    #expect(try file.graph(named: "shallow").nodes.count < g.nodes.count)
  }

  @Test func sequencesNameChildrenByPosition() throws {
    let g = try builtin("vgg11_bn")
    #expect(g.nodes.map(\.name).contains("features.28"))
    #expect(g.nodes.first { $0.name == "classifier.6" }?.op == .linear(inFeatures: 4096, outFeatures: 1000, bias: true))
  }

  @Test func embeddedZooIsInSyncWithTheFiles() throws {
    let zoo = try Zoo.builtin()
    let dir = repoRoot.appendingPathComponent("zoo")
    let onDisk = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
    #expect(Set(onDisk) == Set(zoo.files.map { URL(fileURLWithPath: $0.path).lastPathComponent }))
    for file in zoo.files {
      let name = URL(fileURLWithPath: file.path).lastPathComponent
      let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
      let fromDisk = try DefinitionFile(path: file.path, text: text)
      #expect(
        fromDisk.models.map(\.name) == file.models.map(\.name),
        "zoo/\(name) changed: run scripts/embed-zoo.sh")
      for m in file.models {
        let a = try Summary(try file.graph(m))
        let b = try Summary(try fromDisk.graph(m))
        #expect(
          a.graph.nodes.map(\.name) == b.graph.nodes.map(\.name) && a.totals == b.totals,
          "zoo/\(name) differs from the embedded copy: run scripts/embed-zoo.sh")
      }
    }
  }

  @Test func resnetFamilyFileStaysShort() throws {
    let text = try String(contentsOf: repoRoot.appendingPathComponent("zoo/resnet.yaml"), encoding: .utf8)
    #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 80)
  }
}

@Suite("definition files: runaway expansions end in errors")
struct RunawayDefinitionTests {
  @Test func aBlockThatCallsItself() throws {
    let e = try #require(
      definitionError("input: [3, 8, 8]\nblocks:\n  a: {body: [a]}\nnetwork: [a]\nmodels: {m: {}}\n"))
    #expect(e.message.contains("block calls nest more than 32 deep"), "\(e)")
    #expect(e.message.contains("a → a"), "\(e)")
  }

  @Test func hugeLoops() throws {
    let a = try #require(
      definitionError("input: [3, 8, 8]\nnetwork: [{repeat: 100000000, body: [relu]}]\nmodels: {m: {}}\n"))
    #expect(a.message.contains("`repeat` count 100000000 is more than the 200000 layers"), "\(a)")
    let b = try #require(
      definitionError(
        "input: [3, 8, 8]\nnetwork: [{repeat: 100000, body: [{repeat: 100000, body: []}]}]\nmodels: {m: {}}\n"))
    #expect(b.message.contains("expands to more than 2000000 items"), "\(b)")
    let c = try #require(
      definitionError("input: [3, 8, 8]\nnetwork: [{repeat: 150000, body: [relu, relu]}]\nmodels: {m: {}}\n"))
    #expect(c.message.contains("more than 200000 layers"), "\(c)")
  }
}
