//! Garbage in, errors out: random and hostile input to every entry point never panics and never
//! exhausts the stack (a property test with a small deterministic generator, so failures
//! reproduce from the printed seed).

use slipway_github_expr::{Object, Value, evaluate, evaluate_condition, parse, split_template};

/// xorshift64*: small, deterministic, good enough to shake a parser.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

/// Pieces that make expressions, near-expressions and nonsense.
const PIECES: &[&str] = &[
    "github",
    "matrix",
    "needs",
    "env",
    ".",
    "*",
    "[",
    "]",
    "(",
    ")",
    ",",
    "'",
    "''",
    "'x'",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "&",
    "|",
    "=",
    "true",
    "false",
    "null",
    "NaN",
    "Infinity",
    "-",
    "+",
    "0x1F",
    "1e3",
    ".5",
    "42",
    "contains",
    "startsWith",
    "endsWith",
    "format",
    "join",
    "toJSON",
    "fromJSON",
    "hashFiles",
    "success",
    "failure",
    "always",
    "cancelled",
    "case",
    "'{0}{1}'",
    "'[1,{\"a\":2}]'",
    " ",
    "\n",
    "\t",
    "${{",
    "}}",
    "{",
    "}",
    "é",
    "😊",
    "ı",
    "\u{0}",
    "\\",
    "\"",
    "_a-b",
];

fn contexts() -> Object {
    let json = r#"{"github": {"event": {"labels": [{"name": "bug"}, {"name": "ci"}]}, "sha": "abc"},
                   "matrix": {"os": ["linux", "mac"], "n": 3}, "needs": {"a": {"result": "success"}},
                   "env": {"X": "1"}}"#;
    match serde_json::from_str::<Value>(json).expect("contexts") {
        Value::Object(object) => (*object).clone(),
        _ => Object::new(),
    }
}

fn exercise(text: &str, context: &Object) {
    if let Ok(expr) = parse(text) {
        let _ = expr.contexts();
        let _ = expr.functions();
        let _ = evaluate(&expr, context).map(|v| (v.to_json_pretty(), v.to_display_string(), v.to_number()));
        let _ = evaluate_condition(&expr, context);
    }
    let _ = split_template(text);
}

#[test]
fn random_input_never_panics() {
    let context = contexts();
    let seed = 0x5EED_1234_ABCD_0001;
    let mut rng = Rng(seed);
    for round in 0..20_000 {
        let mut text = String::new();
        for _ in 0..rng.below(24) {
            if rng.below(10) == 0 {
                // A random character, any plane.
                let c = char::from_u32(u32::try_from(rng.next() % 0x11_0000).unwrap_or(0)).unwrap_or('?');
                text.push(c);
            } else {
                text.push_str(PIECES[rng.below(PIECES.len())]);
            }
        }
        let result = std::panic::catch_unwind(|| exercise(&text, &context));
        assert!(result.is_ok(), "seed {seed:#x}, round {round}: panicked on {text:?}");
    }
}

#[test]
fn deep_input_is_an_error_not_a_stack_overflow() {
    let context = contexts();
    let n = 25_000;
    let deep = [
        "(".repeat(n) + "1" + &")".repeat(n),
        "!".repeat(n) + "true",
        "github".to_owned() + &".a".repeat(n),
        "github".to_owned() + &"[0]".repeat(n),
        "github".to_owned() + &"[github".repeat(n) + &"]".repeat(n),
        "format(".repeat(n) + "'x'" + &")".repeat(n),
        vec!["1"; n].join(" == "),
        vec!["1"; n].join(" < "),
        vec!["1"; n].join(" && "),
        "[".repeat(n),
        "'".repeat(n),
    ];
    for text in &deep {
        // Longer than GitHub's limit: refused before parsing.
        assert!(parse(text).is_err(), "{}", &text[..20]);
        // Within the length limit but too deep: refused while parsing.
        let short: String = text.chars().take(20_000).collect();
        exercise(&short, &context);
        let within: String = text.chars().take(5_000).collect();
        exercise(&within, &context);
    }
    // Deep JSON: fromJSON's reader stops at its nesting limit.
    let json = "[".repeat(5_000) + &"]".repeat(5_000);
    let expr = parse(&format!("toJSON(fromJSON('{json}'))")).expect("parses");
    assert!(evaluate(&expr, &context).is_err());
    let json = "[".repeat(100) + &"]".repeat(100);
    let expr = parse(&format!("toJSON(fromJSON('{json}'))")).expect("parses");
    assert!(evaluate(&expr, &context).is_ok());
}

#[test]
fn runaway_strings_are_refused() {
    let context = contexts();
    // Each level multiplies the string by 255; GitHub's memory limit stops it.
    let args = vec!["{0}"; 255].concat();
    let mut text = "'abcdefgh'".to_owned();
    for _ in 0..4 {
        text = format!("format('{args}', {text})");
    }
    let expr = parse(&text).expect("parses");
    let err = evaluate(&expr, &context).expect_err("too big");
    assert_eq!(err.message, "The maximum allowed memory size was exceeded");
    let expr = parse(&format!("join(matrix.os, format('{args}', format('{args}', 'abcdefgh')))")).expect("parses");
    assert!(evaluate(&expr, &context).is_err());
}
