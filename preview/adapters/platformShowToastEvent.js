/**
 * `lightning/platformShowToastEvent`: the same event Lightning Experience
 * listens for (`lightning__showtoast`, bubbling and composed, the toast's
 * title, message and variant in `detail`). The preview page shows it with
 * `showToasts` from `src/toasts.js`.
 */
export const SHOW_TOAST_EVENT_NAME = 'lightning__showtoast';

export class ShowToastEvent extends CustomEvent {
    constructor(config = {}) {
        super(SHOW_TOAST_EVENT_NAME, {
            bubbles: true,
            cancelable: true,
            composed: true,
            detail: {
                title: config.title ?? '',
                message: config.message ?? '',
                variant: config.variant ?? 'info',
                mode: config.mode ?? 'dismissible',
                messageData: config.messageData
            }
        });
    }
}
