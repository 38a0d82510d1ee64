//! Slipway's default rules: written for Slipway (not copied from gitleaks), in gitleaks' TOML
//! format, embedded in the binary. `[extend] useDefault = true` in a team's rules file builds on
//! them.
//!
//! They cover cloud keys (AWS, GCP, Azure), forge tokens (GitHub, GitLab, Gitea/Forgejo), chat
//! webhooks and tokens (Slack, Discord, Microsoft Teams), payment and mail APIs (Stripe,
//! SendGrid, Twilio), package registries (npm, PyPI), private keys (PEM, OpenSSH, PGP), JWTs,
//! database connection strings with passwords, Slipway's own tokens (`slw_`, `slwreg_`,
//! `slwagent_`), and generic assignments of high-entropy values to names such as `password`,
//! `secret` or `api_key`. Placeholders (`AKIAXXXXXXXXXXXXXXXX`, `your-api-key-here`,
//! `${VARIABLE}`) are kept out by entropy thresholds, stop words and allowlists.

/// The default rules file.
pub const DEFAULT_RULES: &str = include_str!("default-rules.toml");

#[cfg(test)]
mod tests {
    use crate::Config;
    use crate::detect::{Detector, Fragment};

    /// A deterministic stream of characters from an alphabet: secrets of the right shape made at
    /// run time, so that this file holds none (and no push protection trips on it).
    struct Shapes(u64);

    impl Shapes {
        fn take(&mut self, alphabet: &str, count: usize) -> String {
            let alphabet: Vec<char> = alphabet.chars().collect();
            (0..count)
                .map(|_| {
                    self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let index = usize::try_from(self.0 >> 33).unwrap_or(0) % alphabet.len();
                    alphabet[index]
                })
                .collect()
        }
    }

    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const HEX: &str = "0123456789abcdef";
    const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    fn found(detector: &Detector, path: &str, text: &str) -> Vec<String> {
        let fragment = Fragment { content: text.as_bytes(), path, commit: None, line_numbers: None };
        detector.detect(&fragment).into_iter().map(|finding| finding.rule_id).collect()
    }

    #[test]
    fn each_default_rule_finds_its_shape_and_leaves_placeholders() {
        let config = Config::default_rules().unwrap_or_else(|error| panic!("{error}"));
        let detector = Detector::new(config, 3);
        let mut s = Shapes(7);
        let pem_body: Vec<String> = (0..8).map(|_| s.take(B64, 64)).collect();
        let cases: Vec<(&str, String)> = vec![
            (
                "aws-access-key-id",
                format!("aws_access_key_id = AKIA{}", s.take("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
            ),
            ("aws-secret-access-key", format!("aws_secret_access_key = {}", s.take(B64, 40))),
            ("gcp-service-account-key", format!("  \"private_key_id\": \"{}\",", s.take(HEX, 40))),
            ("gcp-api-key", format!("key: AIza{}", s.take(URLSAFE, 35))),
            (
                "azure-storage-account-key",
                format!(
                    "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={}==;EndpointSuffix=core.windows.net",
                    s.take(B64, 86)
                ),
            ),
            (
                "azure-shared-access-key",
                format!(
                    "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={}=",
                    s.take(B64, 43)
                ),
            ),
            ("azure-ad-client-secret", format!("AZURE_CLIENT_SECRET={}8Q~{}", s.take(ALNUM, 3), s.take(ALNUM, 34))),
            ("github-pat", format!("token: ghp_{}", s.take(ALNUM, 36))),
            ("github-token", format!("GH=ghs_{}", s.take(ALNUM, 36))),
            ("gitlab-token", format!("GITLAB=glpat-{}", s.take(URLSAFE, 20))),
            ("gitea-token", format!("GITEA_TOKEN={}", s.take(HEX, 40))),
            (
                "slack-token",
                format!("SLACK=xoxb-{}-{}-{}", s.take("0123456789", 12), s.take("0123456789", 13), s.take(ALNUM, 24)),
            ),
            (
                "slack-webhook",
                format!(
                    "url: https://hooks.slack.com/services/T{}/B{}/{}",
                    s.take("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                    s.take("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                    s.take(ALNUM, 24)
                ),
            ),
            (
                "discord-webhook",
                format!("https://discord.com/api/webhooks/{}/{}", s.take("0123456789", 19), s.take(URLSAFE, 68)),
            ),
            (
                "discord-bot-token",
                format!("DISCORD_TOKEN=\"M{}.{}.{}\"", s.take(URLSAFE, 25), s.take(URLSAFE, 6), s.take(URLSAFE, 38)),
            ),
            (
                "teams-webhook",
                format!(
                    "https://contoso.webhook.office.com/webhookb2/{a}@{a}/IncomingWebhook/{}/{a}",
                    s.take(HEX, 32),
                    a = "2f8a0e1c-7b4d-4c3e-9a61-5d2b8f0c7e44"
                ),
            ),
            ("stripe-secret-key", format!("STRIPE_KEY=sk_live_{}", s.take(ALNUM, 24))),
            ("sendgrid-api-key", format!("SG.{}.{}", s.take(URLSAFE, 22), s.take(URLSAFE, 43))),
            ("twilio-api-key", format!("sid = \"SK{}\"", s.take(HEX, 32))),
            ("twilio-auth-token", format!("TWILIO_AUTH_TOKEN={}", s.take(HEX, 32))),
            ("npm-token", format!("//registry.npmjs.org/:_authToken=npm_{}", s.take(ALNUM, 36))),
            ("pypi-token", format!("password = pypi-AgEIcHlwaS5vcmc{}", s.take(URLSAFE, 70))),
            (
                "private-key",
                format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----", pem_body.join("\n")),
            ),
            (
                "private-key",
                format!(
                    "\"key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"",
                    pem_body.join("\\n")
                ),
            ),
            (
                "jwt",
                format!(
                    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
                    s.take(URLSAFE, 40),
                    s.take(URLSAFE, 43)
                ),
            ),
            (
                "connection-string-password",
                format!("DATABASE_URL=postgres://app:{}@db.internal:5432/app", s.take(ALNUM, 20)),
            ),
            ("slipway-token", format!("SLIPWAY_TOKEN=slw_{}_{}", s.take(HEX, 12), s.take(HEX, 64))),
            ("slipway-token", format!("slwreg_{}_{}", s.take(HEX, 12), s.take(HEX, 64))),
            ("generic-secret", format!("db_password: \"{}\"", s.take(ALNUM, 18))),
            ("generic-secret", format!("export API_KEY={}", s.take(ALNUM, 32))),
        ];
        for (rule, text) in &cases {
            let ids = found(&detector, "src/settings.txt", text);
            assert!(ids.iter().any(|id| id == rule), "{rule} did not find {text:?}: {ids:?}");
        }
        let placeholders = [
            "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "api_key: your-api-key-here",
            "password: ${DB_PASSWORD}",
            "token: ${{ secrets.GITHUB_TOKEN }}",
            "password = os.environ[\"DB_PASSWORD\"]",
            "secret_key = settings.SECRET_KEY_FROM_VAULT",
            "DATABASE_URL=postgres://user:password@localhost:5432/app",
            "image: alpine@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "request_id: 123e4567-e89b-12d3-a456-426614174000",
            "api_key_id: 8c1f6a2e-4b7d-4e9a-b3c5-0d2f7e9a1b6c",
            "password_hash: $2b$12$KIXQJ3lTnq5lB1f0xYcVUeJ9yH9m2m3n4o5p6q7r8s9t0u1v2w3x4",
            "STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ];
        for text in placeholders {
            let ids = found(&detector, "src/settings.txt", text);
            assert!(ids.is_empty(), "{text:?} was taken for a secret: {ids:?}");
        }
    }
}
