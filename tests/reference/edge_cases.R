# R's answers where a test has no answer, or a model cannot estimate everything: tests/reference/edge_cases.json.
#   Rscript tests/reference/edge_cases.R > tests/reference/edge_cases.json
# (R 4.2.2, survival 3.5-3, coin 1.4-2; the data are written out below, and again in the JSON.)
suppressMessages({library(survival); library(coin)})
num <- function(x) ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "\"Inf\"", "\"-Inf\""), sprintf("%.15g", x)))
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
out <- c()
add <- function(name, body) out <<- c(out, sprintf("  \"%s\": {%s}", name, body))

# Log-rank with no event in any group: survdiff's chisq is 0 on df 0, its P NaN.
d <- data.frame(time = c(1, 2, 3, 4, 5, 6), event = 0, group = c("a", "a", "a", "b", "b", "b"))
s <- suppressWarnings(survdiff(Surv(time, event) ~ group, data = d))
add("logrank_no_events", sprintf("\"time\": %s, \"event\": %s, \"group\": [\"a\", \"a\", \"a\", \"b\", \"b\", \"b\"], \"chisq\": %s, \"p_value\": %s, \"observed\": %s",
    vec(d$time), vec(d$event), num(s$chisq), num(s$pvalue), vec(s$obs)))

# Signed-rank test with every difference zero: wilcox.test's P is NaN, coin refuses.
coin_refuses <- inherits(tryCatch(wilcoxsign_test(c(2, 3, 4) ~ c(2, 3, 4)), error = function(e) e), "error")
add("signed_rank_all_zero", sprintf("\"pre\": [1, 2, 3], \"post\": [1, 2, 3], \"p_value\": %s, \"coin_refuses\": %s",
    num(suppressWarnings(wilcox.test(c(1, 2, 3), c(1, 2, 3), paired = TRUE))$p.value), tolower(coin_refuses)))

# Fisher with an empty column (everyone responded): the conditional MLE is 0, in (0, Inf), P = 1.
f <- fisher.test(matrix(c(2, 0, 3, 0), 2, byrow = TRUE))
add("fisher_empty_column", sprintf("\"table\": [[2, 0], [3, 0]], \"p_value\": %s, \"estimate\": %s, \"ci\": %s",
    num(f$p.value), num(f$estimate), vec(f$conf.int)))

# Kaplan-Meier down to S = 0: the Greenwood SE of S at that step is NaN.
k <- summary(survfit(Surv(c(1, 2, 3), c(1, 1, 1)) ~ 1))
add("km_to_zero", sprintf("\"time\": [1, 2, 3], \"event\": [1, 1, 1], \"survival\": %s, \"std_err\": %s",
    vec(k$surv), vec(k$std.err)))

# Cox: separation (monotone likelihood; R warns about variable 1, x), a constant and a collinear covariate
# (NA), and one event (coefficient estimated; cox.zph fails).
m <- data.frame(time = 1:8, event = c(1, 1, 1, 0, 1, 0, 0, 0), x = c(1, 1, 1, 1, 0, 0, 0, 0),
                z = c(0.5, 1.2, 0.3, 2, 1, 0.1, 0.7, 1.5))
warned <- ""
fit <- withCallingHandlers(coxph(Surv(time, event) ~ x + z, data = m),
                           warning = function(w) {warned <<- conditionMessage(w); invokeRestart("muffleWarning")})
add("cox_monotone", sprintf("\"time\": %s, \"event\": %s, \"x\": %s, \"z\": %s, \"warning\": \"%s\", \"z_coef\": %s, \"z_se\": %s",
    vec(m$time), vec(m$event), vec(m$x), vec(m$z), trimws(warned), num(coef(fit)[["z"]]), num(sqrt(vcov(fit)["z", "z"]))))
m$c <- 1; m$w <- 2 * m$z
fit <- coxph(Surv(time, event) ~ z + c + w, data = m)
add("cox_aliased", sprintf("\"covariates\": [\"z\", \"c\", \"w\"], \"coef\": %s, \"z_se\": %s",
    vec(coef(fit)), num(sqrt(vcov(fit)["z", "z"]))))
o <- data.frame(time = 1:6, event = c(0, 0, 1, 0, 0, 0), z = c(0.5, 1.2, 0.3, 2, 1, 0.1))
fit <- coxph(Surv(time, event) ~ z, data = o)
zph_fails <- inherits(tryCatch(cox.zph(fit), error = function(e) e), "error")
add("cox_one_event", sprintf("\"time\": %s, \"event\": %s, \"z\": %s, \"coef\": %s, \"se\": %s, \"zph_fails\": %s",
    vec(o$time), vec(o$event), vec(o$z), num(coef(fit)), num(sqrt(vcov(fit)[1, 1])), tolower(zph_fails)))

cat(sprintf("{\n  \"r_version\": \"%s\",\n  \"survival_version\": \"%s\",\n%s\n}\n", R.version.string,
            packageVersion("survival"), paste(out, collapse = ",\n")))
