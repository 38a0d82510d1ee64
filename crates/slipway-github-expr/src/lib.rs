//! The GitHub Actions expression language, pure: `${{ }}` expressions parsed into a tree, checked
//! against the contexts and functions a key allows, and evaluated with GitHub's rules (loose
//! equality with its coercions, `&&` and `||` returning an operand, case-insensitive names and
//! comparisons, object filters, the built-in functions and the status functions).
