//! Work-item references in commit messages and pull-request titles: `AB#123` and `#123` link,
//! `Fixes AB#123` (and GitHub's closing keywords) resolve on merge to the default branch.
