//! AUTH: who may call a view. The rules here start from the text of the decorator or call that
//! opens a view up (`csrf_exempt`) and then look only at the functions of that view.

pub mod webhook_without_signature_verification;
