//! Unit tests of parsing, checking and evaluation through the public API.

use std::borrow::Cow;

use insta::assert_snapshot;

use crate::status::{self, JobStatus, Scope};
use crate::{Allowed, Context, EvalError, Expr, Object, Value, Version, check, evaluate, parse, template};

/// Named values for the tests plus the status functions (step scope, succeeded) and `counter`.
struct TestContext {
    values: Object,
}

impl Context for TestContext {
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.values.get(name).map(Cow::Borrowed)
    }

    fn call(&self, name: &str, arguments: &[Value]) -> Option<Result<Value, EvalError>> {
        if name.eq_ignore_ascii_case("counter") {
            return Some(Ok(Value::Number(100.0)));
        }
        status::call(name, arguments, &Scope::Step { job_status: JobStatus::Succeeded, canceled: false })
    }
}

fn context() -> TestContext {
    let json = serde_json::json!({
        "variables": {
            "Build.SourceBranch": "refs/heads/main",
            "empty": "",
            "number": "123",
            "list": "a,b,,c",
        },
        "parameters": {
            "list": ["one", "two", "three"],
            "numbers": [1, 2, 3],
            "obj": {"Key": "value", "nested": {"deep": true}},
            "flag": true,
            "count": 3,
            "items": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": ["z"]}, {"name": "no id"}],
        },
        "start": "2024-03-05 07:08:09+00:00",
    });
    let Value::Object(values) = Value::from_json(&json) else {
        return TestContext { values: Object::new() };
    };
    TestContext { values }
}

/// Parses and evaluates; errors of either step become their message.
fn eval(source: &str) -> Result<Value, String> {
    let expression = parse(source).map_err(|e| format!("parse: {}", e.message))?;
    evaluate(&expression, &context()).map_err(|e| e.message)
}

/// The display string of the result, or the error message.
fn show(source: &str) -> String {
    match eval(source) {
        Ok(value) => value.to_display_string(),
        Err(message) => message,
    }
}

fn truth(source: &str) -> bool {
    match eval(source) {
        Ok(Value::Bool(b)) => b,
        other => panic!("{source} gave {other:?}, not a boolean"),
    }
}

/// A parse error as `message @offset+length`.
fn parse_err(source: &str) -> String {
    match parse(source) {
        Ok(e) => format!("parsed: {:?}", e.root),
        Err(e) => format!("{} @{}+{}", e.message, e.offset, e.length),
    }
}

#[test]
fn literals() {
    assert_eq!(eval("true"), Ok(Value::Bool(true)));
    assert_eq!(eval("TRUE"), Ok(Value::Bool(true)));
    assert_eq!(eval("False"), Ok(Value::Bool(false)));
    assert_eq!(eval("-1.2"), Ok(Value::Number(-1.2)));
    assert_eq!(eval(".5"), Ok(Value::Number(0.5)));
    assert_eq!(eval("'a b c'"), Ok(Value::from("a b c")));
    assert_eq!(eval("'It''s'"), Ok(Value::from("It's")));
    assert_eq!(eval("''"), Ok(Value::from("")));
    assert_eq!(eval("1.2.3"), Ok(Value::Version(Version::from_parts(&[1, 2, 3]).unwrap_or(Version::new(0, 0)))));
    assert_eq!(eval("1.2.3.4").map(|v| v.to_display_string()), Ok("1.2.3.4".into()));
    assert_eq!(eval("  42  "), Ok(Value::Number(42.0)));
}

#[test]
fn names_are_case_insensitive() {
    assert_eq!(show("VARIABLES['build.sourcebranch']"), "refs/heads/main");
    assert_eq!(show("Variables.Number"), "123");
    assert_eq!(show("EQ(1, 1)"), "True");
    assert_eq!(show("startswith('ABC', 'a')"), "True");
    assert_eq!(show("parameters.obj.key"), "value");
}

#[test]
fn property_and_index_access() {
    assert_eq!(show("variables['Build.SourceBranch']"), "refs/heads/main");
    assert_eq!(show("parameters.list[1]"), "two");
    assert_eq!(show("parameters.list['1']"), "two");
    assert_eq!(show("parameters.list[1.9]"), "two");
    assert_eq!(show("parameters.list[true]"), "two");
    assert_eq!(eval("parameters.list[3]"), Ok(Value::Null));
    assert_eq!(eval("parameters.list[-1]"), Ok(Value::Null));
    assert_eq!(eval("parameters.list['x']"), Ok(Value::Null));
    assert_eq!(eval("parameters.list.length"), Ok(Value::Null));
    assert_eq!(show("parameters.obj['nested'].deep"), "True");
    assert_eq!(show("parameters['obj'][format('{0}', 'key')]"), "value");
    assert_eq!(eval("parameters.obj.missing.deeper"), Ok(Value::Null));
    assert_eq!(eval("variables['noSuch']"), Ok(Value::Null));
    assert_eq!(eval("parameters.count.x"), Ok(Value::Null));
    assert_eq!(show("split('a/b/c', '/')[2]"), "c");
    assert_eq!(show("parameters.items[0].tags[1]"), "y");
}

#[test]
fn filtered_arrays() {
    let json = |source: &str| eval(source).map(|v| v.to_json().to_string());
    assert_eq!(json("parameters.items.*.id"), Ok("[1,2]".into()));
    assert_eq!(json("parameters.items[*].id"), Ok("[1,2]".into()));
    assert_eq!(json("parameters.items.*.tags.*"), Ok(r#"["x","y","z"]"#.into()));
    assert_eq!(json("parameters.items.*.tags[0]"), Ok(r#"["x","z"]"#.into()));
    assert_eq!(json("parameters.obj.*"), Ok(r#"["value",{"deep":true}]"#.into()));
    assert_eq!(json("parameters.flag.*"), Ok("[]".into()));
    assert_eq!(json("variables.noSuch.*.id"), Ok("[]".into()));
    assert_eq!(show("length(parameters.items.*.id)"), "2");
}

#[test]
fn logical_functions() {
    assert!(truth("and(true, 1, 'x', 1.2.3)"));
    assert!(!truth("and(true, '')"));
    assert!(truth("or(false, 0, 'a')"));
    assert!(!truth("or(false, 0, '', variables.noSuch)"));
    assert!(truth("not(0)"));
    assert!(truth("not('')"));
    assert!(!truth("not('false')"));
    assert!(truth("xor(true, 0)"));
    assert!(!truth("xor(1, 'a')"));
    // Short-circuit: the failing comparison is never evaluated.
    assert!(!truth("and(false, gt(1, 'abc'))"));
    assert!(truth("or(true, gt(1, 'abc'))"));
    assert!(eval("and(true, gt(1, 'abc'))").is_err());
}

#[test]
fn comparison_functions() {
    assert!(truth("eq('abc', 'ABC')"));
    assert!(truth("eq(variables.number, 123)"));
    assert!(truth("eq(123, variables.number)"));
    assert!(truth("eq(1, true)"));
    assert!(truth("eq(true, 'false')"), "non-empty string converts to True");
    assert!(truth("eq(false, '')"));
    assert!(truth("eq('true', true)"));
    assert!(!truth("eq('false', true)"));
    assert!(truth("eq(variables.noSuch, '')"));
    assert!(!truth("eq(variables.noSuch, 0)"), "Null only equals Null and ''");
    assert!(truth("eq(0, variables.noSuch)"));
    assert!(!truth("eq(1, 'abc')"));
    assert!(truth("ne(1, 'abc')"));
    assert!(truth("eq(1.2.3, '1.2.3')"));
    assert!(!truth("eq(1.2.3, '1.2.3.0')"));
    assert!(!truth("eq(1.5, 1.5.0)"), "a version does not convert to a number");
    assert!(truth("eq(parameters.list, parameters.list)"));
    assert!(!truth("eq('Array', parameters.list)"), "arrays do not convert to strings");
    assert!(truth("gt(5, 2)"));
    assert!(truth("ge(5, 5)"));
    assert!(truth("lt(2, 5)"));
    assert!(truth("le(2, 2)"));
    assert!(truth("lt(false, true)"));
    assert!(truth("gt('b', 'A')"));
    assert!(truth("lt(1.2.3, '1.10.0')"));
    assert!(truth("gt(1.2.0, 1.2)"));
    assert!(truth("lt(variables.noSuch, 1)"));
    assert!(truth("lt('10', 9)"), "strings compare as text: '10' < '9'");
    assert!(truth("gt(10, '9')"));
    assert!(truth("gt(1, ' 0 ')"));
    assert!(truth("eq(1000, '1,000')"));
}

#[test]
fn membership_functions() {
    assert!(truth("in('B', 'A', 'B', 'C')"));
    assert!(truth("in('b', 'A', 'B')"));
    assert!(!truth("in('D', 'A', 'B', 'C')"));
    assert!(truth("notIn('D', 'A', 'B', 'C')"));
    assert!(truth("in(1, 'abc', '1')"));
    assert!(truth("in(2, parameters.count, 2)"));
    assert!(truth("containsValue(parameters.list, 'TWO')"));
    assert!(!truth("containsValue(parameters.list, 'four')"));
    assert!(truth("containsValue(parameters.numbers, '2')"), "items are converted to the needle's kind");
    assert!(truth("containsValue(parameters.obj, 'VALUE')"));
    assert!(!truth("containsValue('one two', 'one')"));
    assert!(truth("contains('ABCDE', 'bcd')"));
    assert!(truth("contains('ABCDE', '')"));
    assert!(truth("contains(123, 2)"));
    assert!(truth("startsWith('refs/heads/Main', 'REFS/HEADS/')"));
    assert!(truth("endsWith('ABCDE', 'de')"));
    assert!(!truth("endsWith('ABCDE', 'abc')"));
}

#[test]
fn string_functions() {
    assert_eq!(show("lower('FOO Bar')"), "foo bar");
    assert_eq!(show("upper('bah straße')"), "BAH STRAßE");
    assert_eq!(show("upper(true)"), "TRUE");
    assert_eq!(show("trim('  a b \t')"), "a b");
    assert_eq!(show("length('fabrikam')"), "8");
    assert_eq!(show("length('😀')"), "2", "UTF-16 code units, like .NET");
    assert_eq!(show("length(parameters.list)"), "3");
    assert_eq!(show("length(parameters.obj)"), "2");
    assert_eq!(show("length('')"), "0");
    assert_eq!(show("replace('a-b-c', '-', '_')"), "a_b_c");
    assert_eq!(show("replace('aAa', 'a', 'x')"), "xAx", "replace is case-sensitive");
    assert_eq!(show("replace('a-b', '-')"), "ab");
    assert_eq!(show("join(';', parameters.list)"), "one;two;three");
    assert_eq!(show("join(', ', parameters.numbers)"), "1, 2, 3");
    assert_eq!(show("join(',', parameters.items)"), ",,", "objects become empty strings");
    assert_eq!(show("join(',', 'abc')"), "abc");
    assert_eq!(show("join(',', parameters.obj)"), "");
    assert_eq!(show("join(',', split('', ','))"), "");
    assert_eq!(show("coalesce(variables.empty, '', 'literal value')"), "literal value");
    assert_eq!(eval("coalesce(variables.noSuch, '')"), Ok(Value::from("")));
    assert_eq!(eval("coalesce('', variables.noSuch)"), Ok(Value::Null));
    assert_eq!(eval("coalesce(0, 'x')"), Ok(Value::Number(0.0)));
    assert_eq!(show("iif(true, 'a', 'b')"), "a");
    assert_eq!(show("iif(variables.empty, 'a', 'b')"), "b");
    assert_eq!(eval("iif(false, 'a')"), Ok(Value::Null));
    assert_eq!(show("iif(true, 'a', gt(1, 'x'))"), "a", "only the chosen branch is evaluated");
}

#[test]
fn split_keeps_empty_strings() {
    let json = |source: &str| eval(source).map(|v| v.to_json().to_string());
    assert_eq!(json("split(variables.list, ',')"), Ok(r#"["a","b","","c"]"#.into()));
    assert_eq!(json("split('a,,b,', ',')"), Ok(r#"["a","","b",""]"#.into()));
    assert_eq!(json("split('a::b', '::')"), Ok(r#"["a","b"]"#.into()));
    assert_eq!(json("split('abc', '')"), Ok(r#"["abc"]"#.into()));
    assert_eq!(json("split('', ',')"), Ok(r#"[""]"#.into()));
    assert_eq!(json("split(12.5, '.')"), Ok(r#"["12","5"]"#.into()));
}

#[test]
fn format_function() {
    assert_eq!(show("format('Hello {0} {1}', 'John', 'Doe')"), "Hello John Doe");
    assert_eq!(show("format('{1}{0}{1}', 'a', 'b')"), "bab");
    assert_eq!(
        show("format('literal left brace {{ and literal right brace }}')"),
        "literal left brace { and literal right brace }"
    );
    assert_eq!(show("format('{0} {1} {2} {3}', true, 1.50, variables.noSuch, 1.2.3)"), "True 1.5  1.2.3");
    assert_eq!(show("format('{0:yyyyMMdd}', start)"), "20240305");
    assert_eq!(show("format('{0:yyyy\\-MM\\-dd HH\\:mm}', start)"), "2024-03-05 07:08");
    assert_eq!(
        show("format('{0:{{}}}', start)"),
        "The format specifiers '{{}' are not valid for objects of type 'DateTime'",
        "only }} is an escape inside specifiers"
    );
    assert_eq!(show("format('{0}', 'x', gt(1, 'a'))"), "x", "unreferenced arguments are not evaluated");
    assert_eq!(show("format('{000}', 'x')"), "x");
    assert_eq!(show("format('')"), "");
}

#[test]
fn convert_to_json_function() {
    assert_snapshot!(show("convertToJson(parameters.obj)"), @r#"
    {
      "Key": "value",
      "nested": {
        "deep": true
      }
    }
    "#);
    assert_eq!(show("convertToJson(parameters.numbers)"), "[\n  1,\n  2,\n  3\n]");
    assert_eq!(show("convertToJson('a\"b')"), r#""a\"b""#);
    assert_eq!(show("convertToJson(variables.noSuch)"), "null");
    assert_eq!(show("convertToJson(1.2.3)"), r#""1.2.3""#);
}

#[test]
fn host_functions() {
    assert_eq!(show("succeeded()"), "True");
    assert_eq!(show("and(succeeded(), eq(variables.number, 123))"), "True");
    assert_eq!(show("counter(variables.number, 100)"), "100");
    assert_eq!(show("FAILED()"), "False");
}

#[test]
fn parse_error_messages() {
    assert_snapshot!(parse_err(""), @"Expected an expression @0+0");
    assert_snapshot!(parse_err("   "), @"Expected an expression @0+3");
    assert_snapshot!(parse_err("eq(1, 2"), @"Unclosed function: 'eq'. Located at position 1 within expression: eq(1, 2 @0+2");
    assert_snapshot!(parse_err("eq(1, 2,"), @"Unclosed function: 'eq'. Located at position 1 within expression: eq(1, 2, @0+2");
    assert_snapshot!(parse_err("eq(1, )"), @"Unexpected symbol: ')'. Located at position 7 within expression: eq(1, ) @6+1");
    assert_snapshot!(parse_err("eq(, 1)"), @"Unexpected symbol: ','. Located at position 4 within expression: eq(, 1) @3+1");
    assert_snapshot!(parse_err("eq(1 2)"), @"Unexpected symbol: '2'. Located at position 6 within expression: eq(1 2) @5+1");
    assert_snapshot!(parse_err("eq"), @"Expected '(' to follow a function: 'eq'. Located at position 1 within expression: eq @0+2");
    assert_snapshot!(parse_err("eq 1"), @"Expected '(' to follow a function: 'eq'. Located at position 1 within expression: eq 1 @0+2");
    assert_snapshot!(parse_err("'unclosed"), @"Unrecognized value: ''unclosed'. Located at position 1 within expression: 'unclosed @0+9");
    assert_snapshot!(parse_err("eq('a', 'b"), @"Unrecognized value: ''b'. Located at position 9 within expression: eq('a', 'b @8+2");
    assert_snapshot!(parse_err("variables['a'"), @"Unclosed indexer: '['. Located at position 10 within expression: variables['a' @9+1");
    assert_snapshot!(parse_err("variables[]"), @"Unexpected symbol: ']'. Located at position 11 within expression: variables[] @10+1");
    assert_snapshot!(parse_err("variables['a', 'b']"), @"Unexpected symbol: ','. Located at position 14 within expression: variables['a', 'b'] @13+1");
    assert_snapshot!(parse_err("variables."), @"Expected a property name to follow the dereference operator '.': '.'. Located at position 10 within expression: variables. @9+1");
    assert_snapshot!(parse_err("variables.1"), @"Unexpected symbol: '1'. Located at position 11 within expression: variables.1 @10+1");
    assert_snapshot!(parse_err("variables.a-b"), @"Unexpected symbol: 'a-b'. Located at position 11 within expression: variables.a-b @10+3");
    assert_snapshot!(parse_err("a == b"), @"Unrecognized value: '=='. Located at position 3 within expression: a == b @2+2");
    assert_snapshot!(parse_err("!a"), @"Unrecognized value: '!a'. Located at position 1 within expression: !a @0+2");
    assert_snapshot!(parse_err("1a"), @"Unrecognized value: '1a'. Located at position 1 within expression: 1a @0+2");
    assert_snapshot!(parse_err("1.2.3.4.5"), @"Unrecognized value: '1.2.3.4.5'. Located at position 1 within expression: 1.2.3.4.5 @0+9");
    assert_snapshot!(parse_err("'a'[0]"), @"Unexpected symbol: '['. Located at position 4 within expression: 'a'[0] @3+1");
    assert_snapshot!(parse_err("'a'.b"), @"Unexpected symbol: '.'. Located at position 4 within expression: 'a'.b @3+1");
    assert_snapshot!(parse_err("(1)"), @"Unexpected symbol: '('. Located at position 1 within expression: (1) @0+1");
    assert_snapshot!(parse_err(")"), @"Unexpected symbol: ')'. Located at position 1 within expression: ) @0+1");
    assert_snapshot!(parse_err("eq(1, 2))"), @"Unexpected symbol: ')'. Located at position 9 within expression: eq(1, 2)) @8+1");
    assert_snapshot!(parse_err("true()"), @"Unexpected symbol: '('. Located at position 5 within expression: true() @4+1");
    assert_snapshot!(parse_err("null"), @r#"parsed: NamedValue { name: "null", span: Span { offset: 0, length: 4 } }"#);
    assert_snapshot!(parse_err("a[*.b]"), @"Unexpected symbol: '.'. Located at position 4 within expression: a[*.b] @3+1");
    assert_snapshot!(parse_err("*"), @"Unexpected symbol: '*'. Located at position 1 within expression: * @0+1");
    assert_snapshot!(parse_err("é é"), @"Unrecognized value: 'é'. Located at position 1 within expression: é é @0+1");
}

#[test]
fn depth_and_length_limits() {
    let nested = |n: usize| format!("{}1{}", "not(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(49)).is_ok(), "49 open functions are allowed");
    assert_snapshot!(parse_err(&nested(50)), @"Exceeded max expression depth 50 @196+3");
    let indexers = format!("a{}", "[a".repeat(60));
    assert_snapshot!(parse_err(&indexers), @"Exceeded max expression depth 50 @99+1");
    let parens = parse(&"(".repeat(10_000)).err();
    assert_eq!(parens.as_ref().map(|e| (e.offset, e.length)), Some((0, 1)));
    assert!(parens.is_some_and(|e| {
        e.message.starts_with("Unexpected symbol: '('. Located at position 1 within expression: ((((")
    }));
    let long = format!("'{}'", "x".repeat(20_998));
    assert!(parse(&long).is_ok(), "21000 code units are allowed");
    let too_long = format!("'{}'", "x".repeat(20_999));
    assert_snapshot!(parse_err(&too_long), @"Exceeded max expression length 21000 @0+21001");
    // A long dereference chain is flat, not deep.
    let chain = format!("a{}", ".b".repeat(10_000));
    match parse(&chain).map(|e| e.root) {
        Ok(Expr::Access { path, .. }) => assert_eq!(path.len(), 10_000),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn evaluation_error_messages() {
    assert_snapshot!(show("gt(1, 'abc')"), @"Unable to convert from String to Number. Value: 'abc'");
    assert_snapshot!(show("lt('a', parameters.list)"), @"Unable to convert from Array to String. Value: Array");
    assert_snapshot!(show("ge(parameters.obj, 1)"), @"Unable to convert from Object to Number. Value: Object");
    assert_snapshot!(show("le(1.2.3, true)"), @"Unable to convert from Boolean to Version. Value: True");
    assert_snapshot!(show("contains(parameters.list, 'a')"), @"Unable to convert from Array to String. Value: Array");
    assert_snapshot!(show("noSuch"), @"Unrecognized value: 'noSuch'");
    assert_snapshot!(show("noSuch(1, 2)"), @"Unrecognized function: 'noSuch'");
    assert_snapshot!(show("eq(1, 2, 3)"), @"Wrong number of arguments for function 'eq': expected 2, got 3");
    assert_snapshot!(show("not()"), @"Wrong number of arguments for function 'not': expected 1, got 0");
    assert_snapshot!(show("and(true)"), @"Wrong number of arguments for function 'and': expected at least 2, got 1");
    assert_snapshot!(show("iif(true, 1, 2, 3)"), @"Wrong number of arguments for function 'iif': expected 1 to 3, got 4");
    assert_snapshot!(show("length(1)"), @"Kind 'Number' not supported. Only arrays, strings, dictionaries, or collections are supported for the length function.");
    assert_snapshot!(show("length(variables.noSuch)"), @"Kind 'Null' not supported. Only arrays, strings, dictionaries, or collections are supported for the length function.");
    assert_snapshot!(show("format('{0}')"), @"The following format string references more arguments than were supplied: {0}");
    assert_snapshot!(show("format('{0')"), @"The following format string is invalid: {0");
    assert_snapshot!(show("format('{}', 1)"), @"The following format string is invalid: {}");
    assert_snapshot!(show("format('{x}', 1)"), @"The following format string is invalid: {x}");
    assert_snapshot!(show("format('}', 1)"), @"The following format string is invalid: }");
    assert_snapshot!(show("format('{256}', 1)"), @"The following format string is invalid: {256}");
    assert_snapshot!(show("format('{0:yyyy}', 'not a date')"), @"The format specifiers 'yyyy' are not valid for objects of type 'String'");
    assert_snapshot!(show("format('{0:yyyy-MM}', start)"), @"The format specifiers 'yyyy-MM' are not valid for objects of type 'DateTime'");
    assert_snapshot!(show("format('{0}', parameters.list)"), @"Unable to convert from Array to String. Value: Array");
    assert_snapshot!(show("replace('abc', '', 'x')"), @"String cannot be of zero length. (Parameter 'oldValue')");
    assert_snapshot!(show("succeeded('job')"), @"Wrong number of arguments for function 'succeeded': expected 0, got 1");
}

#[test]
fn deep_nesting_evaluates_without_overflow() {
    // 49 open functions or indexers is the most the parser allows; evaluate the heaviest shapes
    // at that depth (the test thread's stack is small, and this runs unoptimized).
    let wrap = |n: usize, open: &str, close: &str, inner: &str| format!("{}{inner}{}", open.repeat(n), close.repeat(n));
    let cases = [
        (wrap(49, "format('{0}', ", ")", "'x'"), "x"),
        (wrap(49, "coalesce('', ", ")", "'x'"), "x"),
        (wrap(49, "iif(true, ", ", 0)", "'x'"), "x"),
        (wrap(49, "replace(", ", 'a', 'b')", "'x'"), "x"),
        (wrap(49, "and(true, ", ")", "true"), "True"),
        (wrap(49, "convertToJson(", ")", "'x'"), ""),
        (wrap(24, "join(',', split(", ", ','))", "'x'"), "x"),
        (wrap(48, "parameters.numbers[", "]", "0"), ""),
        (format!("parameters.items.*{}.id", "[*]".repeat(6_000)), ""),
    ];
    for (source, expected) in cases {
        let expression = match parse(&source) {
            Ok(expression) => expression,
            Err(e) => panic!("{source}: {}", e.message),
        };
        let shown = evaluate(&expression, &context()).map(|v| v.to_display_string()).unwrap_or_else(|e| e.message);
        if !expected.is_empty() {
            assert_eq!(shown, expected, "{source}");
        }
    }
    assert!(parse(&wrap(50, "format('{0}', ", ")", "'x'")).is_err());
}

#[test]
fn memory_limit_stops_runaway_growth() {
    let mut source = "'aaaaaaaaaaaaaaaa'".to_owned();
    for _ in 0..30 {
        source = format!("replace({source}, 'a', 'aa')");
    }
    let result = eval(&source);
    assert!(
        result.as_ref().is_err_and(|m| m.starts_with("The maximum allowed memory size was exceeded")),
        "{result:?}"
    );
    let format = format!("format('{}', '{}')", "{0}".repeat(5_000), "x".repeat(200));
    assert!(eval(&format).is_err());
}

#[test]
fn check_reports_every_problem() {
    let expression = parse("and(foo(1), eq(variables.a), bar, succeeded(1), counter('a'), EQ(dependencies.x, 1))");
    let Ok(expression) = expression else { panic!("did not parse") };
    let allowed = Allowed {
        named_values: &["variables", "Dependencies"],
        host_functions: &[("succeeded", 0, 0), ("counter", 2, 2)],
    };
    let report: Vec<String> =
        check(&expression, &allowed).iter().map(|p| format!("{} @{}+{}", p.message, p.offset, p.length)).collect();
    assert_snapshot!(report.join("\n"), @"
    Unrecognized function: 'foo' @4+3
    Wrong number of arguments for function 'eq': expected 2, got 1 @12+2
    Unrecognized value: 'bar' @29+3
    Wrong number of arguments for function 'succeeded': expected 0, got 1 @34+9
    Wrong number of arguments for function 'counter': expected 2, got 1 @48+7
    ");
    let fine = parse("and(succeeded(), in(variables['x'], 'a', 'b'))");
    let Ok(fine) = fine else { panic!("did not parse") };
    assert_eq!(check(&fine, &allowed), vec![]);
    let statuses = Allowed { named_values: &["dependencies"], host_functions: status::DEPENDENCY_FUNCTIONS };
    let Ok(named) = parse("and(succeeded('A', 'B'), always())") else { panic!("did not parse") };
    assert_eq!(check(&named, &statuses), vec![]);
}

#[test]
fn expressions_serialize_as_source() {
    let Ok(expression) = parse("and(eq(variables['a'], 'b'), parameters.x.*.y)") else { panic!("did not parse") };
    let json = serde_json::to_string(&expression).unwrap_or_default();
    assert_snapshot!(json, @r#"{"source":"and(eq(variables['a'], 'b'), parameters.x.*.y)"}"#);
    let back: Result<crate::Expression, _> = serde_json::from_str(&json);
    assert_eq!(back.ok(), Some(expression));
    let bad: Result<crate::Expression, _> = serde_json::from_str(r#"{"source":"eq("}"#);
    assert!(bad.is_err());
    // Deeply nested expressions round-trip too.
    let deep = format!("{}1{}", "not(".repeat(49), ")".repeat(49));
    let Ok(deep) = parse(&deep) else { panic!("did not parse") };
    let json = serde_json::to_string(&deep).unwrap_or_default();
    let back: Result<crate::Expression, _> = serde_json::from_str(&json);
    assert_eq!(back.ok(), Some(deep));
}

#[test]
fn template_segments_evaluate() {
    let text = "prefix-${{ upper(variables['Build.SourceBranch']) }}-${{ '}}' }}";
    let Ok(segments) = template::split(text, "${{") else { panic!("did not split") };
    let mut out = String::new();
    for segment in segments {
        match segment {
            template::Segment::Text(t) => out.push_str(&t),
            template::Segment::Expression { source, .. } => out.push_str(&show(&source)),
        }
    }
    assert_eq!(out, "prefix-REFS/HEADS/MAIN-}}");
}

/// A small deterministic generator (xorshift64*), so the fuzz test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

#[test]
fn arbitrary_input_never_panics() {
    const PIECES: &[&str] = &[
        "eq(",
        "and(",
        "format(",
        "split(",
        "join(",
        "convertToJson(",
        "iif(",
        "coalesce(",
        "containsValue(",
        "variables",
        "parameters",
        "items",
        ".",
        ".*",
        "[*]",
        "[",
        "]",
        "(",
        ")",
        ",",
        "'",
        "''",
        "'x'",
        "1",
        "-1.5",
        ".5",
        "1.2.3",
        "1.2.3.4.5",
        "true",
        "False",
        " ",
        "\t",
        "*",
        "{0}",
        "{{",
        "}}",
        "${{",
        "$[",
        "$(",
        "é",
        "😀",
        "\u{0}",
        "==",
        "-",
        "999999999999999999999999999999",
        "'{0:yyyy}'",
        "start",
        "noSuch",
        "foo(",
        "length(",
        "in(",
        "notIn(",
        "lower(",
        "replace(",
        "'a'",
        ",'b'",
        "0",
        "[0]",
        "['Key']",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let context = context();
    let allowed = Allowed { named_values: &["variables", "parameters"], host_functions: status::STEP_FUNCTIONS };
    for round in 0..4_000 {
        let mut input = String::new();
        let count = 1 + rng.below(if round % 10 == 0 { 200 } else { 16 });
        for _ in 0..count {
            if rng.below(8) == 0 {
                // An arbitrary char, including surrogate-adjacent and control ranges.
                let c = char::from_u32(u32::try_from(rng.next() % 0x11_0000).unwrap_or(0)).unwrap_or('?');
                input.push(c);
            } else {
                input.push_str(PIECES.get(rng.below(PIECES.len())).copied().unwrap_or(""));
            }
        }
        if let Ok(expression) = parse(&input) {
            let _ = evaluate(&expression, &context);
            let _ = check(&expression, &allowed);
        }
        let _ = template::split(&input, "${{");
        let _ = template::split(&input, "$[");
        let _ = crate::macros::expand(&input, &|name| (name.len() < 3).then(|| format!("$({name}{name})")));
    }
}

#[test]
fn adversarial_input_gives_errors_not_overflows() {
    let inputs = [
        "(".repeat(10_000),
        "not(".repeat(10_000),
        "a[".repeat(10_000),
        "[".repeat(10_000),
        "'".repeat(10_001),
        format!("a{}", "[0]".repeat(7_000)),
        format!("a{}", ".*".repeat(10_000)),
        "eq(1,".repeat(5_000),
        ")".repeat(10_000),
        format!("{}{}", "${{".repeat(5_000), "}}".repeat(10)),
        "$[".repeat(10_000),
        "x".repeat(100_000),
    ];
    for input in &inputs {
        let parsed = parse(input);
        if let Ok(expression) = &parsed {
            let _ = evaluate(expression, &context());
        }
        let _ = template::split(input, "${{");
        let _ = template::split(input, "$[");
        let _ = crate::macros::expand(input, &|_| Some("$(x)".to_owned()));
    }
    assert!(parse(&"(".repeat(10_000)).is_err());
    assert!(parse(&"not(".repeat(10_000)).is_err());
    assert!(parse(&"a[".repeat(10_000)).is_err());
}

#[test]
fn other_error_messages() {
    let version = "1".parse::<Version>().err().map(|e| e.to_string()).unwrap_or_default();
    assert_snapshot!(version, @"'1' is not a version (expected 2 to 4 numeric components such as 1.2.3)");
    let status = "Cancelled".parse::<JobStatus>().err().map(|e| e.to_string()).unwrap_or_default();
    assert_snapshot!(status, @"'Cancelled' is not a job status (expected Succeeded, SucceededWithIssues, Failed, Canceled or Skipped)");
    let source = format!("join('', split('{}', ''))", "x".repeat(10));
    let memory = format!("format('{}', '{}')", "{0}".repeat(2_000), "x".repeat(300));
    assert_eq!(show(&source), "xxxxxxxxxx");
    assert_snapshot!(show(&memory).replace(&memory, "<source>"), @"The maximum allowed memory size was exceeded while evaluating the following expression: <source>");
    let stored: Result<crate::Expression, _> = serde_json::from_str(r#"{"source":"eq(1,"}"#);
    assert_snapshot!(stored.err().map(|e| e.to_string()).unwrap_or_default(), @"Unclosed function: 'eq'. Located at position 1 within expression: eq(1,");
}
