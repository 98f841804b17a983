//! Live support on the pages — mutual verification on the support page and in the agents'
//! console, the screen pop and the call log — in English and Simplified Chinese (see
//! `texts.rs`).

/// (key, English, 简体中文)
pub(super) const TEXTS: &[(&str, &str, &str)] = &[
    // --- the customer's side
    ("support.verify.title", "Is this really okwallet support?", "核实客服身份"),
    ("support.verify.none", "No agent is verifying you right now. Anyone who says they are okwallet support but whose name and ID do not appear here is not us — hang up or stop replying.", "目前没有客服在核实您的身份。任何自称 okwallet 客服、但姓名和工号没有显示在这里的人，都不是我们——请挂断电话或停止回复。"),
    ("support.verify.pending", "An agent asked to verify you:", "客服正在核实您的身份："),
    ("support.verify.pending_help", "Read these six digits to the agent you are talking with. This code is the only thing you ever read out to us: we never ask for your password, SMS or two-step codes, recovery phrase or private keys.", "请把这 6 位数字读给正在与您通话或聊天的客服。这是您唯一需要告诉我们的数字：我们绝不会索要您的密码、短信或两步验证码、助记词或私钥。"),
    ("support.verify.expires", "Valid until", "有效期至"),
    ("support.verify.verified", "You are talking with verified agent", "您正在与已核实的客服交谈："),
    ("support.verify.verified_help", "The agent typed your code correctly. They still never ask for passwords, codes, recovery phrases or keys.", "客服已正确输入您的验证码。即便如此，客服也绝不会索要密码、验证码、助记词或私钥。"),
    ("support.verify.refresh", "Refresh", "刷新"),
    ("support.verify.refresh_help", "This box updates by itself.", "此处会自动更新。"),
    // --- the agent's side
    ("agent.verify.title", "Verify the customer", "核实客户身份"),
    ("agent.verify.help", "Before talking about the account, ask the customer to verify: their app shows a code and your name and ID, and they read the code out to you.", "谈及账户之前，请先让客户核实身份：客户的应用会显示一个验证码以及您的姓名和工号，由客户读给您。"),
    ("agent.verify.start", "Ask the customer to verify", "请客户核实身份"),
    ("agent.verify.agents_only", "Only agents of the help desk can ask customers to verify.", "只有客服人员可以请客户核实身份。"),
    ("agent.verify.waiting", "Waiting for the customer's code, asked at", "等待客户读出验证码，发起于"),
    ("agent.verify.code", "The code the customer reads out", "客户读出的验证码"),
    ("agent.verify.tries_left", "Tries left:", "剩余尝试次数："),
    ("agent.verify.check", "Check the code", "核对验证码"),
    ("agent.verify.verified", "Customer verified at", "客户已核实，时间"),
    ("agent.notice.verify_started", "The customer's app now shows a code and your name and ID.", "客户的应用已显示验证码以及您的姓名和工号。"),
    ("agent.notice.verified", "The customer is verified.", "客户身份已核实。"),
];
