//! Every text a page shows, in English and Simplified Chinese, under a stable key.
//!
//! One table, so a missing translation is a failing test (`every_key_in_templates_exists`)
//! rather than a blank on a page. Texts with numbers or names in them are assembled by the
//! handler from two keys; no formatting happens here.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::lang::Lang;

/// (key, English, 简体中文)
const TEXTS: &[(&str, &str, &str)] = &[
    ("brand", "okwallet", "OK钱包"),
    ("nav.skip", "Skip to content", "跳到正文"),
    ("nav.label", "Main", "主导航"),
    ("nav.home", "Home", "首页"),
    ("nav.security", "Security", "安全中心"),
    ("nav.admin", "Admin", "管理后台"),
    ("nav.logout", "Log out", "退出登录"),
    ("nav.login", "Log in", "登录"),
    ("nav.signup", "Sign up", "注册"),
    ("nav.other_lang", "中文", "English"),
    ("demo.label", "Demo mode", "演示模式"),
    ("demo.banner", "Demo mode: accounts, balances and chains here are simulated; nothing is real money.", "演示模式：此处的账户、余额和区块链均为模拟，不涉及真实资金。"),
    ("footer.official", "We will never ask for your password, one-time codes or recovery codes — not by phone, chat or email.", "我们绝不会通过电话、聊天或邮件向您索要密码、验证码或恢复码。"),
    ("error.request_id", "request id", "请求编号"),
    ("not_found.title", "Page not found", "页面不存在"),
    ("not_found.body", "There is nothing at this address. Check the link, or start again from the home page.", "此地址没有内容。请检查链接，或从首页重新开始。"),
    ("csrf.title", "This form has expired", "表单已失效"),
    ("csrf.body", "For your safety we only accept forms sent from our own pages. Go back, reload the page and try again.", "为保护您的账户，我们只接受从本站页面提交的表单。请返回并刷新页面后重试。"),
    ("form.too_large.title", "Too much data", "提交的内容过多"),
    ("form.too_large.body", "The form sent more than we accept. Shorten what you typed and try again.", "表单内容超出上限，请精简后重试。"),
    ("form.invalid.title", "The form could not be read", "无法读取表单"),
    ("form.invalid.body", "Some fields were missing or malformed. Reload the page and try again.", "部分字段缺失或格式不正确，请刷新页面后重试。"),
    ("signup.title", "Create your account", "注册账户"),
    ("signup.lead", "One account for your wallet and for help when you need it.", "一个账户，管理资产，也随时获得客服帮助。"),
    ("field.email", "Email", "邮箱"),
    ("field.password", "Password", "密码"),
    ("field.new_password", "Password", "设置密码"),
    ("field.otp", "Verification code", "验证码"),
    ("signup.password_help", "At least 10 characters. A few unrelated words are stronger than a short word with symbols.", "至少 10 个字符。几个不相关的词组合起来，比带符号的短单词更安全。"),
    ("signup.submit", "Create account", "创建账户"),
    ("signup.have_account", "Already have an account?", "已有账户？"),
    ("signup.done.title", "Thank you", "提交成功"),
    ("signup.done.body", "We sent a mail to this address. If it was free, your account is ready: open the link in the mail to verify it, then log in. If you already had an account, the mail says so — log in with your existing password.", "我们已向该邮箱发送邮件。如果该邮箱尚未注册，账户已创建：请打开邮件中的链接完成验证，然后登录；如果您此前已注册，邮件中会提示您，请使用原密码登录。"),
    ("login.title", "Log in", "登录"),
    ("login.lead", "Check that the address bar shows our site before you type your password.", "输入密码前，请确认地址栏显示的是本站网址。"),
    ("login.locked_help", "This protects you from someone guessing your password. Wait until the time above has passed; if it was not you, change your password as soon as you are in and turn on two-step verification.", "这是为了防止他人猜测您的密码。请等待上述时间后再试；如果不是您本人操作，登录后请立即修改密码并开启两步验证。"),
    ("login.submit", "Log in", "登录"),
    ("login.no_account", "No account yet?", "还没有账户？"),
    ("login.phishing_hint", "Staff will never ask for your password or codes.", "工作人员绝不会索要您的密码或验证码。"),
    ("login.expired.title", "Please log in again", "请重新登录"),
    ("login.expired.body", "The time to enter the code has run out. Log in again with your email and password.", "输入验证码的时间已过，请重新使用邮箱和密码登录。"),
    ("verify.title", "Two-step verification", "两步验证"),
    ("verify.lead", "Enter the 6-digit code from your authenticator app.", "请输入身份验证器 App 中显示的 6 位验证码。"),
    ("verify.help", "Lost your phone? Enter one of your recovery codes instead.", "手机丢失？也可以输入一个恢复码。"),
    ("verify.submit", "Verify", "验证"),
    ("landing.title", "A wallet that looks after you", "安心的数字钱包"),
    ("landing.lead", "Deposit, withdraw, send and pay with digital assets — with security beyond the big exchanges and real people when you need help.", "充值、提现、转账、日常消费，一个钱包全搞定；安全防护超越主流交易所，遇到问题随时有人帮您。"),
    ("landing.f1.title", "Security first", "安全优先"),
    ("landing.f1.body", "Two-step verification, passkeys, a list of your devices, an anti-phishing code in every email, and one-click freeze.", "两步验证、通行密钥、设备管理、邮件防钓鱼码，以及一键冻结账户。"),
    ("landing.f2.title", "Every cent accounted for", "每一笔都清清楚楚"),
    ("landing.f2.body", "A double-entry ledger: you always see what is available and what is on hold, and why.", "复式记账：可用多少、冻结多少、原因是什么，一目了然。"),
    ("landing.f3.title", "Help that knows your account", "懂您账户的客服"),
    ("landing.f3.body", "When something goes wrong — a failed log-in, a late deposit, a payment that did not go through — we help you find out why.", "登录失败、资金到账延迟、支付失败……遇到问题，我们帮您查清原因。"),
    ("dashboard.title", "Your wallet", "我的钱包"),
    ("dashboard.balances", "Balances", "资产余额"),
    ("dashboard.asset", "Asset", "币种"),
    ("dashboard.available", "Available", "可用"),
    ("dashboard.held", "On hold", "冻结中"),
    ("dashboard.held_help", "On hold: set aside for withdrawals or payments that are still in progress.", "冻结中：为尚未完成的提现或支付预留的金额。"),
    ("frozen.banner", "Your account is frozen: no money can leave it.", "您的账户已冻结：资金无法转出。"),
    ("frozen.what_now", "See what to do next", "查看后续操作"),
    ("frozen.done.title", "Your account is frozen", "账户已冻结"),
    ("frozen.done.body", "Every session has been signed out and no money can leave the account. Log in again to check your security log; unfreezing needs your password and second factor and takes effect after a cooling-off period.", "所有登录设备已退出，资金无法转出。您可以重新登录查看安全日志；解冻需要密码和第二验证因素，并在冷静期结束后生效。"),
    ("checklist.title", "Your security checklist", "安全检查清单"),
    ("checklist.all_done", "All done. Keep your recovery codes somewhere safe and offline.", "全部完成。请将恢复码妥善离线保存。"),
    ("checklist.some_left", "A few steps make your account much harder to take over:", "完成以下几步，账户会安全得多："),
    ("checklist.done", "Done", "已完成"),
    ("checklist.todo", "To do", "待完成"),
    ("checklist.totp", "Two-step verification with an authenticator app", "使用身份验证器 App 开启两步验证"),
    ("checklist.totp.action", "Turn it on", "立即开启"),
    ("checklist.anti_phishing", "An anti-phishing code, shown in every email from us", "设置防钓鱼码（我们的每封邮件都会显示）"),
    ("checklist.anti_phishing.action", "Set one", "立即设置"),
    ("security.title", "Security centre", "安全中心"),
    ("security.withdrawals_locked", "After a recent security change, withdrawals are paused until", "由于近期的安全设置变更，提现暂停至"),
    ("security.on", "On", "已开启"),
    ("security.off", "Off", "未开启"),
    ("security.totp.title", "Two-step verification", "两步验证"),
    ("security.totp.on", "Logging in needs a code from your authenticator app.", "登录时需要输入身份验证器 App 中的验证码。"),
    ("security.totp.off", "Anyone with your password can log in. Add a second step with an authenticator app.", "目前任何知道您密码的人都能登录。请用身份验证器 App 增加第二道验证。"),
    ("security.totp.start", "Set up an authenticator app", "设置身份验证器"),
    ("security.recovery_left", "Unused recovery codes:", "剩余可用恢复码："),
    ("security.ap.title", "Anti-phishing code", "防钓鱼码"),
    ("security.ap.lead", "Choose a phrase only you know. Every email and support message from us will show it; a message without it is not from us.", "设置一个只有您知道的短语。我们发出的每封邮件和每条客服消息都会显示它；没有这个短语的消息不是我们发的。"),
    ("security.ap.current", "Your code:", "当前防钓鱼码："),
    ("security.ap.field", "New anti-phishing code", "新的防钓鱼码"),
    ("security.ap.help", "4 to 20 letters, digits, spaces, - or _. No links.", "4 至 20 个字符，可用文字、数字、空格、- 或 _，不能包含链接。"),
    ("security.ap.submit", "Save code", "保存"),
    ("security.anti_phishing.done", "Your anti-phishing code is saved.", "防钓鱼码已保存。"),
    ("security.devices.title", "Devices and sessions", "登录设备"),
    ("security.devices.lead", "Everywhere your account is signed in. If you do not recognise one, end it and change your password.", "以下是您的账户当前登录的所有位置。如有不认识的设备，请立即退出该设备并修改密码。"),
    ("security.devices.device", "Device", "设备"),
    ("security.devices.first", "First seen", "首次登录"),
    ("security.devices.last", "Last active", "最近活动"),
    ("security.devices.actions", "Actions", "操作"),
    ("security.devices.this", "This device", "当前设备"),
    ("security.devices.end", "Sign out", "退出"),
    ("security.devices.end_others", "Sign out everywhere else", "退出其他所有设备"),
    ("security.sessions.ended", "That session has been signed out.", "该设备已退出登录。"),
    ("security.sessions.others_ended", "Every other session has been signed out.", "其他所有设备均已退出登录。"),
    ("security.freeze.title", "Freeze account", "冻结账户"),
    ("security.freeze.lead", "If you think someone else has access, freeze now: every session is signed out at once and no money can leave until you unfreeze.", "如果怀疑他人能访问您的账户，请立即冻结：所有设备会马上退出登录，解冻前资金无法转出。"),
    ("security.freeze.confirm", "Freeze your account now? You will be signed out everywhere.", "确定立即冻结账户吗？所有设备都将退出登录。"),
    ("security.freeze.submit", "Freeze my account now", "立即冻结账户"),
    ("security.unfreeze.lead", "To unfreeze, confirm it is you. For your safety the account stays frozen for a cooling-off period after that.", "解冻需要验证您的身份。为了安全，验证后账户仍会在冷静期内保持冻结。"),
    ("security.unfreeze.submit", "Request unfreeze", "申请解冻"),
    ("security.unfreeze.scheduled", "Unfreeze requested. The account unfreezes at", "已申请解冻，账户将于以下时间解冻："),
    ("security.unfreeze.done", "Unfreeze requested; it takes effect after the cooling-off period.", "已申请解冻，冷静期结束后生效。"),
    ("security.log.title", "Security log", "安全日志"),
    ("security.log.time", "Time", "时间"),
    ("security.log.what", "What happened", "事件"),
    ("totp.title", "Set up two-step verification", "设置两步验证"),
    ("totp.step1", "Install an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or 1Password).", "在手机上安装身份验证器 App（如 Google Authenticator、Microsoft Authenticator 或 1Password）。"),
    ("totp.step2", "Scan this QR code with the app.", "用 App 扫描下方二维码。"),
    ("totp.qr_caption", "QR code for your authenticator app", "身份验证器二维码"),
    ("totp.manual", "Cannot scan? Enter this key by hand:", "无法扫码？请手动输入以下密钥："),
    ("totp.step3", "Enter the 6-digit code the app shows to finish.", "输入 App 显示的 6 位验证码完成设置。"),
    ("totp.submit", "Turn on", "开启"),
    ("recovery.title", "Save your recovery codes", "保存恢复码"),
    ("recovery.enabled", "Two-step verification is on.", "两步验证已开启。"),
    ("recovery.lead", "If you lose your phone, each of these codes lets you log in once. This is the only time we show them.", "如果手机丢失，每个恢复码可用于登录一次。恢复码只显示这一次。"),
    ("recovery.help", "Write them down or print them and keep them offline. Never give them to anyone — our staff will never ask.", "请抄写或打印后离线保存，切勿告诉任何人——我们的工作人员绝不会索要。"),
    ("recovery.done", "I have saved them", "我已保存"),
    ("console.forbidden.title", "Not available to you", "无权访问"),
    ("console.forbidden.body", "This console is for staff with the right role. If you think you should have access, ask an administrator.", "此控制台仅限具有相应角色的工作人员使用。如需访问，请联系管理员。"),
    ("console.mfa.title", "Two-step verification needed", "需要开启两步验证"),
    ("console.mfa.body", "Staff consoles show customers' data, so they open only for accounts with two-step verification. Turn it on, then come back.", "工作台涉及客户数据，只有开启两步验证的账户才能进入。请先开启两步验证再返回。"),
    ("admin.title", "Administration", "管理后台"),
    ("admin.audited", "Opening this page is recorded in the audit log. Generated at", "访问本页会记录在审计日志中。生成时间："),
    ("admin.users", "Accounts", "账户"),
    ("admin.role", "Role", "角色"),
    ("admin.state", "State", "状态"),
    ("admin.frozen", "Frozen", "已冻结"),
    ("admin.active", "Active", "正常"),
    ("role.user", "User", "用户"),
    ("role.merchant", "Merchant", "商户"),
    ("role.agent", "Agent", "客服"),
    ("role.supervisor", "Supervisor", "客服主管"),
    ("role.admin", "Administrator", "管理员"),
    ("event.login", "Logged in", "登录成功"),
    ("event.login_failed", "Failed log-in (wrong password)", "登录失败（密码错误）"),
    ("event.locked", "Account locked after repeated failures", "多次失败后账户被暂时锁定"),
    ("event.mfa_enabled", "Two-step verification turned on", "开启两步验证"),
    ("event.mfa_failed", "Wrong verification code", "验证码错误"),
    ("event.recovery_code_used", "Recovery code used", "使用了恢复码"),
    ("event.step_up", "Identity confirmed for a sensitive action", "为敏感操作验证身份"),
    ("event.session_revoked", "A session was signed out", "某设备被退出登录"),
    ("event.sessions_revoked", "All other sessions were signed out", "其他所有设备被退出登录"),
    ("event.frozen", "Account frozen", "账户已冻结"),
    ("event.unfreeze_requested", "Unfreeze requested", "申请解冻"),
    ("event.anti_phishing_code_set", "Anti-phishing code changed", "修改防钓鱼码"),
    ("event.verification_failed", "Failed identity check", "身份验证失败"),
    ("event.sign_up_attempt", "Someone tried to sign up with your email", "有人尝试用您的邮箱注册"),
    ("event.email_verified", "Email address verified", "邮箱已验证"),
    ("event.password_reset", "Password reset by email link", "通过邮件链接重置密码"),
    ("event.password_reset_requested", "Password reset link requested", "申请了密码重置链接"),
    ("event.password_reset_mfa_failed", "Password reset refused: wrong verification code", "密码重置被拒绝：验证码错误"),
    ("login.or", "or", "或"),
    ("proof.passkey", "When you continue, confirm with your passkey.", "继续操作时，请使用通行密钥确认。"),
    ("passkey.sign_in", "Sign in with a passkey", "使用通行密钥登录"),
    ("passkey.use", "Use my passkey", "使用通行密钥验证"),
    ("verify.passkey_lead", "Confirm with your passkey (fingerprint, face or device PIN).", "请使用通行密钥（指纹、面容或设备 PIN）确认。"),
    ("checklist.passkey", "A passkey: log in with your fingerprint or face, and nothing to phish", "添加通行密钥：用指纹或面容登录，无密码可被钓鱼"),
    ("checklist.passkey.action", "Add one", "立即添加"),
    ("security.passkeys.title", "Passkeys", "通行密钥"),
    ("security.passkeys.lead", "A passkey lives on your phone, computer or security key and only works on our real site, so it cannot be phished. Use it to sign in without a password, or as your second step.", "通行密钥保存在您的手机、电脑或安全密钥中，只能在我们的真实网站上使用，因此无法被钓鱼。可用于免密码登录，或作为两步验证的第二步。"),
    ("security.passkeys.created", "Added", "添加于"),
    ("security.passkeys.last_used", "last used", "最近使用"),
    ("security.passkeys.remove", "Remove", "移除"),
    ("security.passkeys.name", "Name for the new passkey", "新通行密钥的名称"),
    ("security.passkeys.name_example", "e.g. My phone", "例如：我的手机"),
    ("security.passkeys.add", "Add a passkey", "添加通行密钥"),
    ("security.passkeys.added", "Passkey added. Withdrawals pause for a day after a security change.", "通行密钥已添加。安全设置变更后，提现将暂停一天。"),
    ("security.passkeys.removed", "Passkey removed.", "通行密钥已移除。"),
    ("event.passkey_added", "Passkey added", "添加通行密钥"),
    ("event.passkey_removed", "Passkey removed", "移除通行密钥"),
    ("event.passkey_possible_clone", "A passkey answered with an old counter (possible copy)", "通行密钥计数器异常（可能被复制）"),
    ("nav.mailbox", "Demo mailbox", "演示邮箱"),
    ("login.forgot", "Forgot your password?", "忘记密码？"),
    ("checklist.email", "A verified email address, so we can reach you", "验证邮箱，确保我们能联系到您"),
    ("checklist.email.action", "Verify it", "立即验证"),
    ("security.email.title", "Email", "邮箱"),
    ("security.email.verified", "Verified", "已验证"),
    ("security.email.unverified", "Not verified", "未验证"),
    ("security.email.lead", "Open the link in the mail we sent you. Nothing arrived? Check spam, or send it again.", "请打开我们发送的邮件中的链接。没收到？请检查垃圾邮件，或重新发送。"),
    ("security.email.resend", "Send the link again", "重新发送验证邮件"),
    ("security.email.sent", "We sent a new link. It works for one day.", "新的验证链接已发送，一天内有效。"),
    ("link.verify.title", "Verify your email", "验证邮箱"),
    ("link.verify.lead", "Confirm that this address is yours.", "请确认这是您的邮箱。"),
    ("link.verify.submit", "Verify my email", "验证邮箱"),
    ("link.verify.done.title", "Email verified", "邮箱已验证"),
    ("link.verify.done.body", "Thank you. Security notices will reach you at this address.", "感谢确认。安全通知将发送到此邮箱。"),
    ("link.freeze.title", "Freeze your account?", "冻结账户？"),
    ("link.freeze.lead", "If you did not just log in or change something, freeze now: every session is signed out at once and no money can leave until you unfreeze.", "如果刚才的登录或变更不是您本人操作，请立即冻结：所有设备会马上退出登录，解冻前资金无法转出。"),
    ("forgot.title", "Reset your password", "重置密码"),
    ("forgot.lead", "Enter the email of your account. We will send a link to set a new password; it works for 30 minutes.", "请输入账户邮箱，我们会发送设置新密码的链接，30 分钟内有效。"),
    ("forgot.submit", "Send the link", "发送链接"),
    ("forgot.again", "Ask for a new link", "重新获取链接"),
    ("forgot.sent.title", "Check your email", "请查收邮件"),
    ("forgot.sent.body", "If an account uses this address, a reset link is on its way. It works for 30 minutes. Look for your anti-phishing code in the mail.", "如果该邮箱已注册，重置链接已发出，30 分钟内有效。请核对邮件中的防钓鱼码。"),
    ("reset.title", "Choose a new password", "设置新密码"),
    ("reset.lead", "After this, every device is signed out and withdrawals pause for a day, so that nobody who took over your account can empty it.", "完成后所有设备都会退出登录，提现将暂停一天，以防他人盗用账户转走资金。"),
    ("reset.otp", "Verification code (if two-step verification is on)", "验证码（如已开启两步验证）"),
    ("reset.otp_help", "A code from your authenticator app, or a recovery code.", "身份验证器 App 中的验证码，或一个恢复码。"),
    ("reset.submit", "Set new password", "设置新密码"),
    ("reset.done.title", "Password changed", "密码已修改"),
    ("reset.done.body", "Log in with your new password. Every other session has been signed out.", "请使用新密码登录，其他所有设备均已退出登录。"),
    ("mailbox.title", "Demo mailbox", "演示邮箱"),
    ("mailbox.lead", "No mail server is configured in the demo, so the mail okwallet would send is shown here, newest first.", "演示模式未配置邮件服务器，本应发出的邮件按时间倒序显示在这里。"),
    ("mailbox.empty", "No mail yet.", "暂无邮件。"),
    ("mailbox.filter", "Only mail to", "只看发给以下地址的邮件"),
    ("mailbox.show", "Show", "显示"),
    ("mailbox.to", "To", "收件人"),
    ("nav.deposit", "Deposit", "充值"),
    ("nav.withdraw", "Withdraw", "提现"),
    ("nav.review", "Withdrawal review", "提现审核"),
    ("dashboard.incoming", "Incoming", "待到账"),
    ("dashboard.incoming_help", "Incoming: deposits seen on the network that are still being confirmed.", "待到账：已在链上检测到、仍在确认中的充值。"),
    ("wallet.choose_asset", "Choose an asset", "选择币种"),
    ("wallet.simulated", "SIMULATED network", "模拟网络"),
    ("wallet.not_available.title", "Not available", "暂不支持"),
    ("wallet.tx_hash", "Transaction hash", "交易哈希"),
    ("deposit.title", "Deposit", "充值"),
    ("deposit.address_title", "Your deposit address for", "您的充值地址"),
    ("deposit.qr_caption", "QR code of the deposit address", "充值地址二维码"),
    ("deposit.network", "Network", "网络"),
    ("deposit.confirmations_needed", "Confirmations needed:", "到账所需确认数"),
    ("deposit.eta", "Estimated time to arrival: about", "预计到账时间：约"),
    ("deposit.not_available", "Deposits of this asset are not available yet: no network for it runs here. Your balance is safe; choose another asset, or contact support if you expected to deposit it.", "该币种暂不支持充值：本平台尚未运行它的网络。您的余额不受影响；请选择其他币种，如有疑问请联系客服。"),
    ("deposit.pending", "Deposits on the way", "到账中的充值"),
    ("deposit.pending_none", "Nothing on the way right now. A deposit shows here as soon as the network includes it in a block.", "目前没有到账中的充值。充值被打包进区块后会立即显示在这里。"),
    ("deposit.confirmations", "Confirmations", "确认数"),
    ("deposit.refresh", "Refresh", "刷新"),
    ("deposit.refresh_help", "This list also updates by itself every few seconds.", "列表每隔几秒也会自动更新。"),
    ("deposit.history", "Deposit history", "充值记录"),
    ("deposit.history_none", "No deposits yet.", "暂无充值记录。"),
    ("deposit.detected_at", "Seen", "检测时间"),
    ("deposit.credited_at", "Credited", "到账时间"),
    ("deposit.from", "From", "付款地址"),
    ("withdraw.title", "Withdraw", "提现"),
    ("withdraw.form_title", "Withdraw", "提现"),
    ("withdraw.min", "Minimum withdrawal", "最小提现金额"),
    ("withdraw.fee", "Fee", "手续费"),
    ("withdraw.daily_limit", "Daily limit", "每日限额"),
    ("withdraw.review_above", "Reviewed above", "超过此金额需审核"),
    ("withdraw.limits_help", "The fee is charged on top of the amount. The daily limit counts amounts and fees over the last 24 hours; larger withdrawals are checked by a supervisor before they are sent.", "手续费在提现金额之外另行收取。每日限额按最近 24 小时的提现金额加手续费计算；大额提现在发送前需经主管审核。"),
    ("withdraw.address", "To address (from your address book)", "提现地址（从地址簿中选择）"),
    ("withdraw.address_help", "Only addresses in your address book can be chosen. New ones are usable after a waiting period.", "只能选择地址簿中的地址。新添加的地址需等待一段时间后才能使用。"),
    ("withdraw.amount", "Amount", "提现金额"),
    ("withdraw.amount_help", "The amount that arrives at the address; the fee comes on top.", "到达目标地址的金额，手续费另计。"),
    ("withdraw.preview", "Preview fee", "预览手续费"),
    ("withdraw.preview_title", "Before you confirm", "确认前请核对"),
    ("withdraw.total", "Total debited", "合计扣除"),
    ("withdraw.after", "Available afterwards", "提现后可用余额"),
    ("withdraw.not_enough", "Your available balance does not cover the amount plus the fee.", "可用余额不足以支付提现金额和手续费。"),
    ("withdraw.will_be_reviewed", "This amount is above the review threshold: a supervisor checks it before it is sent.", "该金额超过审核线，发送前需经主管审核。"),
    ("withdraw.submit", "Withdraw", "确认提现"),
    ("withdraw.no_address", "There is no address for this network in your address book yet.", "您的地址簿中还没有该网络的地址。"),
    ("withdraw.not_available", "Withdrawals of this asset are not available yet: no network for it runs here. Your balance is safe.", "该币种暂不支持提现：本平台尚未运行它的网络。您的余额不受影响。"),
    ("withdraw.done", "Withdrawal submitted. Status:", "提现已提交，当前状态："),
    ("withdraw.history", "Withdrawal history", "提现记录"),
    ("withdraw.history_none", "No withdrawals yet.", "暂无提现记录。"),
    ("withdraw.reason", "Reason:", "原因："),
    ("withdraw.review_note", "Supervisor's note:", "主管备注："),
    ("withdraw.created_at", "Requested", "申请时间"),
    ("withdraw.finished_at", "Finished", "完成时间"),
    ("withdraw.to", "To", "收款地址"),
    ("book.title", "Address book", "地址簿"),
    ("book.lead", "Withdrawals go only to addresses in your address book. A new address becomes usable after a waiting period, so that someone who takes over your account cannot send your money away at once.", "提现只能发送到地址簿中的地址。新地址需要等待一段时间才能使用，这样即使账户被盗，对方也无法立刻转走您的资金。"),
    ("book.empty", "Your address book is empty.", "地址簿为空。"),
    ("book.no_label", "Unnamed address", "未命名地址"),
    ("book.usable_now", "Usable now", "现在可用"),
    ("book.waiting", "Waiting period", "等待期中"),
    ("book.usable_from", "usable from", "可用时间"),
    ("book.remove", "Remove", "删除"),
    ("book.add_title", "Add an address", "添加地址"),
    ("book.add_lead", "Check the address character by character: a transfer to a wrong address cannot be undone.", "请逐字核对地址：转到错误地址的资产无法追回。"),
    ("book.address", "Address", "地址"),
    ("book.label", "Name (optional)", "备注名（可选）"),
    ("book.label_example", "e.g. My hardware wallet", "例如：我的硬件钱包"),
    ("book.proof_lead", "Adding an address needs you to confirm it is you.", "添加地址需要验证您的身份。"),
    ("book.stepped_up", "You confirmed it is you a moment ago; no need to do it again for a few minutes.", "您刚刚已验证过身份，几分钟内无需再次验证。"),
    ("book.add", "Add address", "添加地址"),
    ("book.added", "Address added. It becomes usable after the waiting period shown below.", "地址已添加，等待期结束后即可使用（见下方时间）。"),
    ("book.exists", "That address is already in your address book.", "该地址已在您的地址簿中。"),
    ("book.removed", "Address removed from your address book.", "地址已从地址簿中删除。"),
    ("book.allowlist_title", "Allowlist mode", "白名单模式"),
    ("book.allowlist_is_on", "On: withdrawals go only to addresses in your address book, once their waiting period is over. We recommend keeping it on.", "已开启：提现只能发送到地址簿中等待期已过的地址。建议保持开启。"),
    ("book.allowlist_is_off", "Off: you can withdraw to any address, and every withdrawal to an address outside your book asks you to confirm it is you.", "已关闭：可以提现到任意地址，向地址簿以外的地址提现时每次都需要验证身份。"),
    ("book.allowlist_turn_off", "Turn allowlist mode off", "关闭白名单模式"),
    ("book.allowlist_turn_on", "Turn allowlist mode on", "开启白名单模式"),
    ("book.allowlist_off_warning", "Turning it off needs your second factor (or password) and pauses withdrawals for 24 hours, so that someone who takes over your account cannot switch it off and withdraw at once.", "关闭需要验证双重验证（或密码），并会暂停提现 24 小时，这样即使账户被盗，对方也无法关闭后立刻提现。"),
    ("book.allowlist_now_on", "Allowlist mode is on.", "白名单模式已开启。"),
    ("book.allowlist_now_off", "Allowlist mode is off. Withdrawals are paused for 24 hours.", "白名单模式已关闭，提现暂停 24 小时。"),
    ("withdraw.address_any_help", "Paste the receiving address, or pick one from your address book. Outside the book you will be asked to confirm it is you.", "粘贴收款地址，或从地址簿中选择。地址簿以外的地址需要验证身份。"),
    ("review.title", "Withdrawal review", "提现审核"),
    ("review.queue", "Waiting for review", "待审核"),
    ("review.lead", "Large withdrawals wait here, with the funds set aside. Approving sends them; rejecting returns the funds to the customer, who is told your note.", "大额提现在此等待审核，资金已冻结。通过后即发送；拒绝后资金退回客户，并告知您填写的原因。"),
    ("review.empty", "No withdrawal is waiting for review.", "目前没有待审核的提现。"),
    ("review.customer", "Customer", "客户"),
    ("review.note", "Note to the customer", "给客户的说明"),
    ("review.note_help", "Required when rejecting: the customer sees it.", "拒绝时必填，客户会看到这段说明。"),
    ("review.proof_lead", "Each decision needs a fresh confirmation that it is you.", "每次审核决定都需要重新验证身份。"),
    ("review.approve", "Approve", "通过"),
    ("review.reject", "Reject", "拒绝"),
    ("review.approved", "Approved: the withdrawal goes on to be sent.", "已通过：提现将继续发送。"),
    ("review.note_missing.title", "A note is needed", "请填写说明"),
    ("review.note_missing.body", "Tell the customer why the withdrawal is rejected; they see this note. Nothing was decided yet.", "请告诉客户拒绝这笔提现的原因，客户会看到这段说明。本次尚未作出任何决定。"),
    ("review.rejected", "Rejected: the funds are back in the customer's balance.", "已拒绝：资金已退回客户余额。"),
];

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| TEXTS.iter().map(|(k, en, zh)| (*k, (*en, *zh))).collect())
}

/// The text under `key`, if there is one.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    table().get(key).map(|(en, zh)| lang.pick(*en, *zh))
}

/// The text under `key`; the key itself when it is missing, which the tests forbid for every
/// key written in a template or handler.
pub fn text(lang: Lang, key: &str) -> &'static str {
    match lookup(lang, key) {
        Some(text) => text,
        None => {
            tracing::warn!(key, "a page text is missing");
            "?"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` in the templates and every `"….…"`-looking key passed to `t` in the page
    /// handlers has both texts.
    #[test]
    fn every_key_in_templates_exists() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut sources = Vec::new();
        for dir in ["templates", "src/pages"] {
            for entry in std::fs::read_dir(format!("{root}{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.ends_with("texts.rs") {
                    continue;
                }
                sources.push((path.clone(), std::fs::read_to_string(path).unwrap()));
            }
        }
        let mut checked = 0;
        for (path, source) in &sources {
            for needle in ["ctx.t(\"", "_key: \""] {
                for piece in source.split(needle).skip(1) {
                    let key = piece.split('"').next().unwrap();
                    assert!(
                        table().contains_key(key),
                        "{}: the key {key:?} has no text",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} keys found; is the scan broken?"
        );
    }

    #[test]
    fn keys_are_unique_and_texts_are_not_empty() {
        let mut seen = std::collections::HashSet::new();
        for (key, en, zh) in TEXTS {
            assert!(seen.insert(key), "{key} twice");
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
    }

    #[test]
    fn chinese_texts_are_chinese() {
        // A text copied into the wrong column would read as English on a Chinese page.
        for (key, en, zh) in TEXTS {
            if en.len() > 12 && !key.starts_with("nav.other_lang") {
                assert!(
                    zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{key}: {zh}"
                );
            }
        }
    }
}
