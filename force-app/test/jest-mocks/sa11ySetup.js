// Registers `toBeAccessible()` so each component test can run the sa11y (axe-core) rules.
import { registerSa11yMatcher } from '@sa11y/jest';

registerSa11yMatcher();
