import { LightningElement, api } from 'lwc';
import { reduceErrors } from 'c/ldsUtils';

/**
 * Shows errors as an SLDS error alert. `errors` takes any shape reduceErrors
 * understands; `messages` takes ready-made lines (e.g. one per failing row).
 */
export default class ErrorPanel extends LightningElement {
    @api title = 'Something went wrong';
    @api errors;
    @api messages;

    get lines() {
        const lines = [...(this.messages || []), ...reduceErrors(this.errors)];
        return lines.map((text, index) => ({ key: `line-${index}`, text }));
    }

    get hasLines() {
        return this.lines.length > 0;
    }
}
